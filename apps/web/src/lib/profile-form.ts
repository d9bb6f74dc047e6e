import type { RouterInputs, RouterOutputs } from './trpc';
import { apiError, type ApiErrorInfo } from './trpc';
import { keyUsageClashes, LEAF_KEY_TYPES, parseOidList } from './pki';

/** a profile as the API lists it (`insights.profiles`, `profiles.get`): lifetimes as `90d`, its `source` */
export type ProfileDto = RouterOutputs['profiles']['get'];
export type ProfileInput = RouterInputs['profiles']['create'];

/** the keyUsage bits, in the extension's order (core's KEY_USAGE_BITS) */
export const KEY_USAGES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
/** the extended key usages a profile names (core's profile schema); others go in by dotted OID */
export const EXT_KEY_USAGES = [
  'serverAuth',
  'clientAuth',
  'codeSigning',
  'emailProtection',
  'timeStamping',
  'OCSPSigning',
] as const;
export const SAN_TYPES = ['dns', 'ip', 'uri', 'email'] as const;

/** The form's fields: lists as arrays of names, the extra EKU OIDs and the lifetimes as the user types them. */
export interface ProfileForm {
  name: string;
  description: string;
  isCa: boolean;
  keyUsage: string[];
  extKeyUsage: string[];
  /** dotted OIDs, one a line (or separated by commas) */
  extKeyUsageOids: string;
  allowedSanTypes: string[];
  sanRequired: boolean;
  allowedKeyTypes: string[];
  defaultLifetime: string;
  maxLifetime: string;
}

/** the fields a problem can be shown next to */
export type ProfileField = keyof ProfileForm;
export type ProfileFieldErrors = Partial<Record<ProfileField, string>>;

export const EMPTY_PROFILE_FORM: ProfileForm = {
  name: '',
  description: '',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extKeyUsage: [],
  extKeyUsageOids: '',
  allowedSanTypes: ['dns'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '90d',
  maxLifetime: '1y',
};

/** a profile's fields in the form (edit) */
export function profileToForm(p: ProfileDto): ProfileForm {
  return {
    name: p.name,
    description: p.description ?? '',
    isCa: p.isCa,
    keyUsage: [...p.keyUsage],
    extKeyUsage: [...p.extKeyUsage],
    extKeyUsageOids: p.extKeyUsageOids.join('\n'),
    allowedSanTypes: [...p.allowedSanTypes],
    sanRequired: p.sanRequired,
    allowedKeyTypes: [...p.allowedKeyTypes],
    defaultLifetime: lifetimeText(p.defaultLifetime),
    maxLifetime: lifetimeText(p.maxLifetime),
  };
}

const DURATION = /^[1-9]\d*[smhdwy]?$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * What the form can tell before sending (the server checks everything again): the name's characters, at least one
 * key usage and key type, keyCertSign only with a CA, no key usage a key type allowed cannot carry (keyEncipherment
 * with an EC key), dotted OIDs, durations (`90d`, `1y`, `8760h`).
 */
export function profileFormErrors(f: ProfileForm): ProfileFieldErrors {
  const e: ProfileFieldErrors = {};
  if (!NAME.test(f.name)) e.name = 'Lowercase letters, digits and dashes, starting with a letter or digit (≤ 63)';
  if (f.keyUsage.length === 0) e.keyUsage = 'At least one key usage';
  else if (f.isCa && !f.keyUsage.includes('keyCertSign')) e.keyUsage = 'A CA profile needs keyCertSign';
  else if (!f.isCa && f.keyUsage.includes('keyCertSign')) e.keyUsage = 'keyCertSign is for CA profiles';
  else {
    // a usage a key type allowed cannot carry: every certificate with such a key would be refused at issuance
    const types = f.allowedKeyTypes.filter((t): t is (typeof LEAF_KEY_TYPES)[number] =>
      (LEAF_KEY_TYPES as readonly string[]).includes(t),
    );
    const clash = keyUsageClashes(f.keyUsage, types);
    if (clash.length > 0)
      e.keyUsage = clash.map((c) => `${c.usage} is not possible with ${c.keyTypes.join(', ')} keys`).join('; ');
  }
  const oids = parseOidList(f.extKeyUsageOids).error;
  if (oids) e.extKeyUsageOids = oids;
  if (f.allowedKeyTypes.length === 0) e.allowedKeyTypes = 'At least one key type';
  if (f.sanRequired && f.allowedSanTypes.length === 0) e.allowedSanTypes = 'A required SAN needs an allowed type';
  for (const k of ['defaultLifetime', 'maxLifetime'] as const) {
    if (!DURATION.test(f[k].trim())) e[k] = 'A duration such as 90d, 1y or 8760h';
  }
  return e;
}

/**
 * The API's input: every field of the form, plus the fields of `kept` (the profile as read) the form does not show
 * (policies, RSA key usage, path length, extensions, key reuse, required SAN types, URI schemes, SAN limits) so that
 * an edit keeps them: an update replaces the whole profile.
 */
export function profileFormToInput(f: ProfileForm, kept?: ProfileDto): ProfileInput {
  const description = f.description.trim();
  return {
    name: f.name.trim(),
    ...(description ? { description } : {}),
    isCa: f.isCa,
    keyUsage: f.keyUsage,
    extKeyUsage: f.extKeyUsage,
    extKeyUsageOids: parseOidList(f.extKeyUsageOids).oids,
    allowedSanTypes: f.allowedSanTypes,
    sanRequired: f.sanRequired,
    allowedKeyTypes: f.allowedKeyTypes,
    defaultLifetime: f.defaultLifetime.trim(),
    maxLifetime: f.maxLifetime.trim(),
    ...(kept?.certificatePolicies.length ? { certificatePolicies: kept.certificatePolicies } : {}),
    ...(kept?.rsaKeyUsage.length ? { rsaKeyUsage: kept.rsaKeyUsage } : {}),
    ...(kept && f.isCa && kept.pathLen !== null ? { pathLen: kept.pathLen } : {}),
    ...(kept?.extensions.length ? { extensions: kept.extensions } : {}),
    ...(kept?.allowKeyReuse ? { allowKeyReuse: true } : {}),
    ...(kept?.requiredSanTypes.length ? { requiredSanTypes: kept.requiredSanTypes } : {}),
    ...(kept?.allowedUriSchemes ? { allowedUriSchemes: kept.allowedUriSchemes } : {}),
    ...(kept?.maxUriSans != null ? { maxUriSans: kept.maxUriSans } : {}),
    ...(kept?.maxSans != null ? { maxSans: kept.maxSans } : {}),
    ...(kept?.maxSanBytes != null ? { maxSanBytes: kept.maxSanBytes } : {}),
  };
}

const FIELD_OF_PATH: Record<string, ProfileField> = {
  defaultLifetimeMs: 'defaultLifetime',
  maxLifetimeMs: 'maxLifetime',
};
const FORM_FIELDS = new Set<string>(Object.keys(EMPTY_PROFILE_FORM));

/**
 * The server's refusal split: each problem of `details.issues` (or a refused input's `issues`) whose path names a
 * field of the form goes next to that field; a name clash goes next to the name. `unplaced` tells whether anything
 * is left for the message with its code (a problem without a field, or a refusal that is not about a field).
 */
export function profileServerErrors(error: unknown): { fields: ProfileFieldErrors; unplaced: boolean } {
  return error ? profileErrorFields(apiError(error)) : { fields: {}, unplaced: false };
}

/** {@link profileServerErrors} of the error's code, message and details */
export function profileErrorFields(e: ApiErrorInfo): { fields: ProfileFieldErrors; unplaced: boolean } {
  if (e.code === 'profile.exists') return { fields: { name: e.message }, unplaced: false };
  const issues = (e.details?.issues as { path?: string; message: string }[] | undefined) ?? e.issues ?? [];
  const fields: ProfileFieldErrors = {};
  let unplaced = issues.length === 0;
  for (const i of issues) {
    const head = (i.path ?? '').split('.')[0] ?? '';
    const field = FIELD_OF_PATH[head] ?? (FORM_FIELDS.has(head) ? (head as ProfileField) : undefined);
    if (field) fields[field] = fields[field] ? `${fields[field]}; ${i.message}` : i.message;
    else unplaced = true;
  }
  return { fields, unplaced };
}

/** a lifetime as `pkim profile list` prints it: whole years as `1y` (the API's `365d`), else as the API gives it */
export function lifetimeText(d: string): string {
  const m = /^(\d+)d$/.exec(d);
  const days = m ? Number(m[1]) : NaN;
  return days > 0 && days % 365 === 0 ? `${days / 365}y` : d;
}

/** key usages and EKUs in short, for the list: `digitalSignature, keyAgreement · clientAuth, 1.3.6…` */
export function usagesText(p: Pick<ProfileDto, 'keyUsage' | 'extKeyUsage' | 'extKeyUsageOids'>): string {
  const eku = [...p.extKeyUsage, ...p.extKeyUsageOids];
  return `${p.keyUsage.join(', ')}${eku.length ? ` · ${eku.join(', ')}` : ''}`;
}
