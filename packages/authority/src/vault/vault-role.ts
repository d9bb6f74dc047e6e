import { PkiError, type KeyType, type LeafNotAfterBehavior } from '@pkim/shared';
import {
  EKU_OIDS,
  isDottedOid,
  profileOidProblems,
  type CertificatePolicy,
  type ExtKeyUsageName,
  type KeyUsageName,
} from '@pkim/core';
import { coerceVaultField, formatGoDuration, parseVaultList, type VaultFieldType } from './vault-params';

/** A PKI role with Vault semantics (field names and defaults as in Vault/OpenBao). Durations in seconds. */
export interface VaultRole {
  ttl: number;
  max_ttl: number;
  allow_localhost: boolean;
  allowed_domains: string[];
  allowed_domains_template: boolean;
  allow_bare_domains: boolean;
  allow_subdomains: boolean;
  allow_glob_domains: boolean;
  allow_wildcard_certificates: boolean;
  allow_any_name: boolean;
  enforce_hostnames: boolean;
  allow_ip_sans: boolean;
  allowed_uri_sans: string[];
  allowed_uri_sans_template: boolean;
  allowed_other_sans: string[];
  allowed_serial_numbers: string[];
  allowed_user_ids: string[];
  server_flag: boolean;
  client_flag: boolean;
  code_signing_flag: boolean;
  email_protection_flag: boolean;
  key_type: 'rsa' | 'ec' | 'ed25519' | 'any';
  key_bits: number;
  signature_bits: number;
  use_pss: boolean;
  key_usage: string[];
  ext_key_usage: string[];
  ext_key_usage_oids: string[];
  use_csr_common_name: boolean;
  use_csr_sans: boolean;
  ou: string[];
  organization: string[];
  country: string[];
  locality: string[];
  province: string[];
  street_address: string[];
  postal_code: string[];
  generate_lease: boolean;
  no_store: boolean;
  require_cn: boolean;
  cn_validations: string[];
  policy_identifiers: string[];
  basic_constraints_valid_for_non_ca: boolean;
  not_before_duration: number;
  not_after: string;
  /** OpenBao's: how a request's not_after is bounded — `permit`, `forbid`, `ttl-limited` or an RFC 3339 time */
  not_after_bound: string;
  issuer_ref: string;
  allow_token_displayname: boolean;
}

const ROLE_FIELDS: { [K in keyof VaultRole]: { type: VaultFieldType; default: VaultRole[K] } } = {
  ttl: { type: 'duration', default: 0 },
  max_ttl: { type: 'duration', default: 0 },
  allow_localhost: { type: 'bool', default: true },
  allowed_domains: { type: 'list', default: [] },
  allowed_domains_template: { type: 'bool', default: false },
  allow_bare_domains: { type: 'bool', default: false },
  allow_subdomains: { type: 'bool', default: false },
  allow_glob_domains: { type: 'bool', default: false },
  allow_wildcard_certificates: { type: 'bool', default: true },
  allow_any_name: { type: 'bool', default: false },
  enforce_hostnames: { type: 'bool', default: true },
  allow_ip_sans: { type: 'bool', default: true },
  allowed_uri_sans: { type: 'list', default: [] },
  allowed_uri_sans_template: { type: 'bool', default: false },
  allowed_other_sans: { type: 'list', default: [] },
  allowed_serial_numbers: { type: 'list', default: [] },
  allowed_user_ids: { type: 'list', default: [] },
  server_flag: { type: 'bool', default: true },
  client_flag: { type: 'bool', default: true },
  code_signing_flag: { type: 'bool', default: false },
  email_protection_flag: { type: 'bool', default: false },
  key_type: { type: 'string', default: 'rsa' },
  key_bits: { type: 'int', default: 0 },
  signature_bits: { type: 'int', default: 0 },
  use_pss: { type: 'bool', default: false },
  key_usage: { type: 'list', default: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'] },
  ext_key_usage: { type: 'list', default: [] },
  ext_key_usage_oids: { type: 'list', default: [] },
  use_csr_common_name: { type: 'bool', default: true },
  use_csr_sans: { type: 'bool', default: true },
  ou: { type: 'list', default: [] },
  organization: { type: 'list', default: [] },
  country: { type: 'list', default: [] },
  locality: { type: 'list', default: [] },
  province: { type: 'list', default: [] },
  street_address: { type: 'list', default: [] },
  postal_code: { type: 'list', default: [] },
  generate_lease: { type: 'bool', default: false },
  no_store: { type: 'bool', default: false },
  require_cn: { type: 'bool', default: true },
  cn_validations: { type: 'list', default: ['email', 'hostname'] },
  policy_identifiers: { type: 'list', default: [] },
  basic_constraints_valid_for_non_ca: { type: 'bool', default: false },
  not_before_duration: { type: 'duration', default: 30 },
  not_after: { type: 'string', default: '' },
  not_after_bound: { type: 'string', default: 'permit' },
  issuer_ref: { type: 'string', default: 'default' },
  allow_token_displayname: { type: 'bool', default: false },
};

/** Go key-usage names (without the `KeyUsage` prefix, case-insensitive) → PKI Manager names. */
const KEY_USAGES: Record<string, KeyUsageName> = {
  digitalsignature: 'digitalSignature',
  contentcommitment: 'nonRepudiation',
  keyencipherment: 'keyEncipherment',
  dataencipherment: 'dataEncipherment',
  keyagreement: 'keyAgreement',
  certsign: 'keyCertSign',
  crlsign: 'cRLSign',
  encipheronly: 'encipherOnly',
  decipheronly: 'decipherOnly',
};

const EXT_KEY_USAGES: Record<string, ExtKeyUsageName> = {
  serverauth: 'serverAuth',
  clientauth: 'clientAuth',
  codesigning: 'codeSigning',
  emailprotection: 'emailProtection',
  timestamping: 'timeStamping',
  ocspsigning: 'OCSPSigning',
};

export const VAULT_ROLE_NAME_RE = /^\w(([\w.-]+)?\w)?$/;

function invalid(message: string): PkiError {
  return new PkiError('vault.invalid_parameter', message);
}

/**
 * Builds a role from a write body with Vault's replace semantics: omitted fields take their defaults. Values are
 * coerced by field type; unknown fields are ignored (hvac adds `name`). Refuses what PKI Manager cannot honour.
 */
export function roleFromParams(params: Record<string, unknown>, base?: VaultRole): VaultRole {
  const role: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(ROLE_FIELDS)) {
    const raw = params[field];
    if (field === 'policy_identifiers' && raw !== undefined && raw !== null) {
      role[field] = policyIdentifiersOf(raw);
    } else if (raw === undefined || raw === null) {
      // a role stored before a field existed takes its default
      const fallback = (base ? base[field as keyof VaultRole] : undefined) ?? spec.default;
      role[field] = Array.isArray(fallback) ? [...fallback] : fallback;
    } else role[field] = coerceVaultField(spec.type, field, raw);
  }
  const r = role as unknown as VaultRole;
  r.key_type = String(r.key_type).toLowerCase() as VaultRole['key_type'];
  if (!['rsa', 'ec', 'ed25519', 'any'].includes(r.key_type)) {
    throw invalid(`unknown key_type "${r.key_type}": use rsa, ec, ed25519 or any`);
  }
  if (r.key_type === 'rsa') {
    if (r.key_bits === 0) r.key_bits = 2048;
    if (![2048, 3072, 4096].includes(r.key_bits)) {
      throw invalid(`unsupported bit length for RSA key: ${r.key_bits} (PKI Manager issues 2048, 3072 or 4096)`);
    }
  } else if (r.key_type === 'ec') {
    if (r.key_bits === 0) r.key_bits = 256;
    if (![256, 384].includes(r.key_bits)) {
      throw invalid(`unsupported bit length for EC key: ${r.key_bits} (PKI Manager issues P-256 or P-384)`);
    }
  } else r.key_bits = 0;
  if (![0, 256, 384, 512].includes(r.signature_bits)) throw invalid(`unsupported signature_bits ${r.signature_bits}`);
  if (r.use_pss) throw invalid('use_pss is not supported: PKI Manager signs with PKCS#1 v1.5 / ECDSA / Ed25519');
  if (r.max_ttl > 0 && r.ttl > r.max_ttl) throw invalid('"ttl" value must be less than "max_ttl" value');
  for (const ku of r.key_usage) {
    if (!KEY_USAGES[ku.toLowerCase().replace(/^keyusage/, '')]) throw invalid(`unknown key_usage "${ku}"`);
  }
  for (const eku of r.ext_key_usage) {
    if (!EXT_KEY_USAGES[eku.toLowerCase().replace(/^extkeyusage/, '')]) {
      throw invalid(`unsupported ext_key_usage "${eku}"`);
    }
  }
  for (const o of r.ext_key_usage_oids) {
    if (!isDottedOid(o)) throw invalid(`"${o}" could not be parsed as a valid oid for an extended key usage`);
  }
  for (const s of r.policy_identifiers) {
    if (!policyEntry(s)) throw invalid(`policy identifier "${s}" is neither a valid OID nor a JSON policy identifier`);
  }
  // the rules every profile's OIDs follow (the linter's lint.policy_invalid), refused at the write as OpenBao does
  const problem = profileOidProblems({
    isCa: false,
    extKeyUsage: roleExtKeyUsage(r),
    extKeyUsageOids: roleExtKeyUsageOids(r),
    certificatePolicies: rolePolicies(r),
  })[0];
  if (problem) throw invalid(problem);
  if (r.allowed_other_sans.length) throw invalid('allowed_other_sans is not supported by PKI Manager');
  if (r.allowed_domains_template || r.allowed_uri_sans_template) {
    throw invalid('identity templates in allowed_domains/allowed_uri_sans are not supported by PKI Manager');
  }
  if (r.not_after && Number.isNaN(Date.parse(r.not_after))) throw invalid(`not_after "${r.not_after}" is not RFC 3339`);
  if (!NOT_AFTER_BOUNDS.includes(r.not_after_bound) && !isRfc3339(r.not_after_bound)) {
    throw invalid(
      'Unknown value for field `not_after_bound`. Possible values are `permit`, `ttl-limited`, `forbid`, or an ' +
        'explicit timestamp.',
    );
  }
  for (const v of r.cn_validations) {
    if (!['email', 'hostname', 'disabled'].includes(v)) throw invalid(`unknown cn_validations value "${v}"`);
  }
  return r;
}

/** The role's key type as a PKI Manager key type (for `issue`; `any` is only for `sign`). */
export function roleKeyType(role: VaultRole): KeyType | undefined {
  if (role.key_type === 'rsa') return `rsa-${role.key_bits}` as KeyType;
  if (role.key_type === 'ec') return role.key_bits === 384 ? 'ec-p384' : 'ec-p256';
  if (role.key_type === 'ed25519') return 'ed25519';
  return undefined;
}

/** Key types a CSR may carry under this role (Vault: key_type + minimum bits; `any` accepts every type). */
export function roleAllowedKeyTypes(role: VaultRole): KeyType[] | undefined {
  if (role.key_type === 'any') return undefined;
  if (role.key_type === 'rsa') {
    return (['rsa-2048', 'rsa-3072', 'rsa-4096'] as KeyType[]).filter((k) => Number(k.slice(4)) >= role.key_bits);
  }
  if (role.key_type === 'ec') return role.key_bits === 384 ? ['ec-p384'] : ['ec-p256', 'ec-p384'];
  return ['ed25519'];
}

export function roleKeyUsage(role: VaultRole): KeyUsageName[] {
  return role.key_usage.flatMap((k) => KEY_USAGES[k.toLowerCase().replace(/^keyusage/, '')] ?? []);
}

export function roleExtKeyUsage(role: VaultRole): ExtKeyUsageName[] {
  const out = new Set<ExtKeyUsageName>();
  if (role.server_flag) out.add('serverAuth');
  if (role.client_flag) out.add('clientAuth');
  if (role.code_signing_flag) out.add('codeSigning');
  if (role.email_protection_flag) out.add('emailProtection');
  for (const e of role.ext_key_usage) {
    const eku = EXT_KEY_USAGES[e.toLowerCase().replace(/^extkeyusage/, '')];
    if (eku) out.add(eku);
  }
  // an OID of a named purpose (serverAuth's 1.3.6.1.5.5.7.3.1, …) is that purpose
  for (const o of role.ext_key_usage_oids) {
    const named = EKU_BY_OID.get(o);
    if (named) out.add(named);
  }
  return [...out];
}

const EKU_BY_OID = new Map(Object.entries(EKU_OIDS).map(([name, o]) => [o, name as ExtKeyUsageName]));

/** the role's `ext_key_usage_oids` the named purposes do not already say, once each (the profile's extKeyUsageOids) */
export function roleExtKeyUsageOids(role: VaultRole): string[] {
  return [...new Set(role.ext_key_usage_oids.filter((o) => !EKU_BY_OID.has(o)))];
}

/** the role's `policy_identifiers` as certificate policies (the profile's certificatePolicies) */
export function rolePolicies(role: VaultRole): CertificatePolicy[] {
  return role.policy_identifiers.flatMap((s) => policyEntry(s) ?? []);
}

/**
 * One stored `policy_identifiers` entry, as OpenBao stores them: a dotted OID, or the JSON of `{"oid", "cps",
 * "notice"}` (certutil.GetPolicyIdentifierFromString); undefined when it is neither
 */
function policyEntry(s: string): CertificatePolicy | undefined {
  if (isDottedOid(s)) return { oid: s };
  let j: unknown;
  try {
    j = JSON.parse(s);
  } catch {
    return undefined;
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) return undefined;
  const { oid, cps, notice } = j as Record<string, unknown>;
  if (typeof oid !== 'string' || (cps !== undefined && typeof cps !== 'string')) return undefined;
  if (notice !== undefined && typeof notice !== 'string') return undefined;
  return { oid, ...(cps ? { cps } : {}), ...(notice ? { notice } : {}) };
}

/**
 * `policy_identifiers` of a role write, in OpenBao's stored form: a list or comma-separated string of OIDs, or a JSON
 * list of `{"oid", "cps", "notice"}` objects (a string, as OpenBao's getPolicyIdentifier reads it, or a list) — each
 * object kept as its JSON (`oid`, `cps`, `notice`, the empty ones left out, as Go's json.Marshal with omitempty)
 */
function policyIdentifiersOf(raw: unknown): string[] {
  const asJson = (e: unknown): string => {
    if (typeof e === 'string') return e.trim();
    const { oid, cps, notice } = (e ?? {}) as Record<string, unknown>;
    return JSON.stringify({ oid, ...(cps ? { cps } : {}), ...(notice ? { notice } : {}) });
  };
  if (typeof raw === 'string' && raw.trim().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(raw);
    } catch {
      throw invalid('policy_identifiers is not a JSON list of policy identifiers');
    }
    if (!Array.isArray(list)) throw invalid('policy_identifiers is not a JSON list of policy identifiers');
    return list.map(asJson).filter((e) => e.length > 0);
  }
  if (Array.isArray(raw)) return raw.map(asJson).filter((e) => e.length > 0);
  return parseVaultList('policy_identifiers', raw);
}

/** Role read response: every field, durations as integer seconds, lists never null. */
export function roleToResponse(role: VaultRole): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(ROLE_FIELDS)) out[field] = role[field as keyof VaultRole] ?? spec.default;
  return out;
}

const NOT_AFTER_BOUNDS = ['permit', 'forbid', 'ttl-limited'];

/** Go's time.RFC3339 layout (`2006-01-02T15:04:05Z07:00`, optional fraction), a real time */
function isRfc3339(v: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v));
}

/**
 * The `not_after` an issue/sign asks (OpenBao's getCertificateNotAfter): the role's fixed `not_after` first — a
 * request's is then not used — else the request's, refused when the role's `not_after_bound` is `forbid`; with a
 * `ttl` too: 400
 */
export function requestedNotAfter(role: VaultRole, ttl: number, requested: string): string {
  const bound = role.not_after_bound || 'permit';
  let notAfter = role.not_after;
  if (!notAfter && requested) {
    if (bound === 'forbid') throw invalid('not_after_bound is set to forbid. not_after cannot be provided.');
    notAfter = requested;
  }
  if (ttl && notAfter)
    throw invalid('Either ttl or not_after should be provided. Both should not be provided in the same request.');
  return notAfter;
}

/** whether the role's `not_after_bound` is an RFC 3339 time (its check needs the issuer's notAfter and behaviour) */
export function hasTimeBound(role: VaultRole): boolean {
  return isRfc3339(role.not_after_bound || 'permit');
}

/**
 * The role's `not_after_bound` on the end decided (`end`, epoch ms): `ttl-limited` refuses a request's `not_after`
 * beyond now + the TTL the request would otherwise get (its role's `ttl` or the mount's default, capped), an RFC 3339
 * bound any end past it; 400 with OpenBao's messages. As OpenBao (getCertificateNotAfter), the RFC 3339 bound sees
 * the end after the issuer's `leaf_not_after_behavior` (`issuer`): `truncate` ends it at the issuer's notAfter first,
 * and under `err` an end past the issuer is left to the pipeline, whose refusal (the issuer's error) comes first.
 */
export function checkNotAfterBound(
  role: VaultRole,
  o: {
    end: number;
    requested?: number;
    ttlSeconds: number;
    now: number;
    issuer?: { notAfter: number | null; leafNotAfterBehavior: LeafNotAfterBehavior };
  },
): void {
  const bound = role.not_after_bound || 'permit';
  const iso = (ms: number) => new Date(ms).toISOString();
  if (bound === 'ttl-limited' && o.requested !== undefined && o.requested > o.now + o.ttlSeconds * 1000)
    throw invalid(
      `not_after_bound is set to ttl-limited. Cannot satisfy request as that would result in notAfter of ` +
        `${iso(o.requested)} that is beyond the TTL of ${formatGoDuration(o.ttlSeconds)}`,
    );
  if (!isRfc3339(bound)) return;
  let end = o.end;
  const caEnd = o.issuer?.notAfter;
  if (caEnd != null && end > caEnd) {
    if (o.issuer!.leafNotAfterBehavior === 'err') return;
    if (o.issuer!.leafNotAfterBehavior === 'truncate') end = caEnd;
  }
  if (end > Date.parse(bound))
    throw invalid(
      `not_after_bound is set to ${bound}. Cannot satisfy request as that would result in notAfter of ` +
        `${iso(end)} that is beyond the maximum timestamp of ${iso(Date.parse(bound))}`,
    );
}
