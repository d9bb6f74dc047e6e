import type { RouterInputs } from './trpc';

/** the reasons the API accepts (RFC 5280 public-key reasons) */
export type RevocationReason = NonNullable<RouterInputs['certificate']['revoke']['reason']>;

/** Reasons offered when revoking. */
export const REVOCATION_REASON_OPTIONS: { value: RevocationReason; label: string }[] = [
  { value: 'unspecified', label: 'Unspecified' },
  { value: 'keyCompromise', label: 'Key compromise' },
  { value: 'cACompromise', label: 'CA compromise' },
  { value: 'affiliationChanged', label: 'Affiliation changed' },
  { value: 'superseded', label: 'Superseded' },
  { value: 'cessationOfOperation', label: 'Cessation of operation' },
  { value: 'privilegeWithdrawn', label: 'Privilege withdrawn' },
];

/** key-type and notification word lists come from the API contract (one vocabulary: `ec-p256`…), not a copy */
export {
  CA_KEY_TYPES,
  LEAF_KEY_TYPES,
  NOTIFICATION_EVENTS,
  NOTIFICATION_STATUSES,
  SSH_CA_KEY_TYPES,
  keyUsageClashes,
  keyUsagesNotPossible,
} from '@pkim/contract/vocabulary';
import { isHttpUrl, keyTypeNotAllowedMessage, LEAF_KEY_TYPES, serverUrlsUnder } from '@pkim/contract/vocabulary';

/**
 * The key types a line of a profile's `warnings` (its API object: `keyUsage: keyEncipherment is not possible with
 * ec-p256, ec-p384 keys …`, `… is not possible with RSA keys`) is about, among the key types the profile allows (an
 * rsaKeyUsage line says "RSA": the RSA sizes the profile allows, not every size); none for a line of another form
 */
export function warningKeyTypes(warning: string, allowedKeyTypes: readonly string[]): string[] {
  const list = /not possible with (.+?) keys/.exec(warning)?.[1];
  if (list === undefined) return [];
  return list
    .split(', ')
    .flatMap((t) => (t === 'RSA' ? LEAF_KEY_TYPES.filter((k) => k.startsWith('rsa-')) : [t]))
    .filter((k) => allowedKeyTypes.includes(k));
}

/**
 * Why the server will refuse to issue with this profile for this key type, said as the user picks (empty: nothing
 * the console knows of): a key type the profile does not allow, or each of its `warnings` about that key type (a key
 * usage such a key cannot carry: lint.key_usage_key_type_mismatch)
 */
export function profileKeyTypeProblems(
  profile: { name: string; allowedKeyTypes: readonly string[]; warnings: readonly string[] },
  keyType: string,
): string[] {
  // the server's own words (keyTypeNotAllowedMessage): what the refusal will say after a submit
  if (!profile.allowedKeyTypes.includes(keyType))
    return [`${keyTypeNotAllowedMessage(profile, keyType)}: policy.key_type_not_allowed`];
  return profile.warnings.filter((w) => warningKeyTypes(w, profile.allowedKeyTypes).includes(keyType));
}

/** an IPv4 address in dotted form (each part checked by the server) */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * an IPv6 address as written: hex groups and colons (an IPv4 tail allowed) with `::` or all eight groups — so a URI
 * whose scheme is hex letters (`cafe:1`) is not taken for one
 */
function looksLikeIpv6(v: string): boolean {
  if (!/^[0-9a-f:]+(:\d{1,3}(\.\d{1,3}){3})?$/i.test(v) || !v.includes(':')) return false;
  const groups = v.split(':').length + (/\.\d+$/.test(v) ? 1 : 0);
  return v.includes('::') || groups === 8;
}

/** an absolute URI: a scheme (RFC 3986: letter, then letters, digits, `+ . -`), a colon, then something */
const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

/**
 * "a.example.com, 10.0.0.1, urn:uuid:…" → { dns: [...], ip: [...], uri: [...] }: IP addresses, then URIs of any
 * scheme (`urn:`, `spiffe://`, `https://`, `mailto:`…), then emails (an `@`), the rest DNS names
 */
export function parseSanList(text: string): { dns?: string[]; ip?: string[]; email?: string[]; uri?: string[] } {
  const out: { dns: string[]; ip: string[]; email: string[]; uri: string[] } = { dns: [], ip: [], email: [], uri: [] };
  for (const raw of text.split(/[\s,]+/)) {
    const v = raw.trim();
    if (!v) continue;
    if (IPV4.test(v) || looksLikeIpv6(v)) out.ip.push(v);
    else if (URI.test(v)) out.uri.push(v);
    else if (v.includes('@')) out.email.push(v);
    else out.dns.push(v);
  }
  return Object.fromEntries(Object.entries(out).filter(([, a]) => a.length > 0));
}

/**
 * A dotted OBJECT IDENTIFIER as the server takes one (packages/core profile-oids.ts isDottedOid, the same rule: two
 * arcs at least, no leading zeros, the first arc 0–2, the second below 40 under 0 and 1); the form says so before
 * sending, the server decides (its refusal is shown with its code)
 */
export function isDottedOid(s: string): boolean {
  if (s.length > 256 || !/^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/.test(s)) return false;
  const [first, second] = s.split('.') as [string, string];
  if (first.length > 1 || Number(first) > 2) return false;
  return first === '2' || (second.length <= 2 && Number(second) < 40);
}

/** "1.3.6.1.4.1.32473.9.1, 1.2.3" → the OIDs, and the error to show for the first that is not a dotted OID */
export function parseOidList(text: string): { oids: string[]; error: string | null } {
  const oids = text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = oids.find((o) => !isDottedOid(o));
  return { oids, error: bad === undefined ? null : `'${bad}' is not a dotted OID (e.g. 1.3.6.1.4.1.32473.1)` };
}

/** a certificate policy of a form: its OID, an optional CPS URI and user notice (empty strings: none) */
export interface PolicyRow {
  oid: string;
  cps: string;
  notice: string;
}

/**
 * A Vault role's `policy_identifiers` entry as OpenBao stores one — a bare OID, or the JSON of `{"oid","cps","notice"}`
 * when it has a qualifier — and back (an entry that is neither is kept as its OID text, for the server to judge)
 */
export function policyIdentifierOf(p: PolicyRow): string {
  const oid = p.oid.trim();
  const cps = p.cps.trim();
  const notice = p.notice.trim();
  if (!cps && !notice) return oid;
  return JSON.stringify({ oid, ...(cps ? { cps } : {}), ...(notice ? { notice } : {}) });
}

export function policyRowOf(entry: string): PolicyRow {
  if (entry.trim().startsWith('{')) {
    try {
      const p = JSON.parse(entry) as { oid?: unknown; cps?: unknown; notice?: unknown };
      const text = (v: unknown) => (typeof v === 'string' ? v : '');
      return { oid: text(p.oid), cps: text(p.cps), notice: text(p.notice) };
    } catch {
      // not JSON after all: shown as written
    }
  }
  return { oid: entry, cps: '', notice: '' };
}

/** a row with nothing typed in it (a new one): no error shown, not sent */
export const policyRowBlank = (p: PolicyRow): boolean => !p.oid.trim() && !p.cps.trim() && !p.notice.trim();

/** what is wrong with a policy row before it is sent (the server checks again), or null; a blank row is left out */
export function policyRowError(p: PolicyRow): string | null {
  if (policyRowBlank(p)) return null;
  const oid = p.oid.trim();
  if (!oid) return 'Policy OID: a dotted OID, e.g. 1.3.6.1.4.1.32473.1.1';
  if (!isDottedOid(oid)) return `'${oid}' is not a dotted OID (e.g. 1.3.6.1.4.1.32473.1.1)`;
  const cps = p.cps.trim();
  if (cps && !/^https?:\/\/[\x21-\x7e]+$/i.test(cps)) return 'CPS: an http(s) URI, e.g. https://pki.example.com/cps';
  if (p.notice.trim().length > 200) return 'User notice: 200 characters at most';
  return null;
}

/**
 * the URL an ACME client is given for a directory: the server's own (`directoryUrl`, from its public URL setting —
 * behind a proxy the console's origin may be an internal address — else from the origin the console's call reached
 * it at) or, from an object without one, the console's origin and the directory's path
 */
export function acmeDirectoryUrl(d: { directoryUrl?: string | null; directoryPath: string }, origin: string): string {
  return d.directoryUrl ?? `${origin}${d.directoryPath}`;
}

/** where the relying-party URLs of a CA's certificates come from: its own setting, the server's public URL, nowhere */
export interface CaRevocationUrls {
  source: 'ca' | 'server' | 'none';
  crlDistributionPoints: string[];
  ocspUrls: string[];
  caIssuersUrls: string[];
  /** a relying party has no way to check revocation: no CRL distribution point and no OCSP URL */
  lacksRevocation: boolean;
}

/**
 * The URLs the certificates a CA issues carry, as the server's signing pipeline chooses them (url-plan.ts
 * urlsOfCa): the CA's own (`ca.urls`: set at its creation from the server's public URL, or by `ca.setUrls`); a CA
 * without any stored (urls null) gets those under the server's public URL (`system.info`'s publicBaseUrl; the paths:
 * serverUrlsUnder, the server's own function). `publicBaseUrl` undefined: not known (the user may not read the
 * server's settings) — then null for such a CA, nothing is claimed.
 */
export function caRevocationUrls(
  ca: {
    id: string;
    urls: { crlDistributionPoints: string[]; ocspUrls: string[]; caIssuersUrls: string[] } | null;
  },
  publicBaseUrl: string | null | undefined,
): CaRevocationUrls | null {
  const of = (source: CaRevocationUrls['source'], crl: string[], ocsp: string[], aia: string[]) => ({
    source,
    crlDistributionPoints: crl,
    ocspUrls: ocsp,
    caIssuersUrls: aia,
    lacksRevocation: crl.length === 0 && ocsp.length === 0,
  });
  if (ca.urls) return of('ca', ca.urls.crlDistributionPoints, ca.urls.ocspUrls, ca.urls.caIssuersUrls);
  if (publicBaseUrl === undefined) return null;
  if (!publicBaseUrl) return of('none', [], [], []);
  const u = serverUrlsUnder(publicBaseUrl, ca.id);
  return of('server', u.crlDistributionPoints, u.ocspUrls, u.caIssuersUrls);
}

/**
 * The Set URLs form of a CA (`ca.setUrls`, as `pkim ca set-urls`): one base URL deriving all three (`--base`), each
 * kind's list (`--crl`, `--ocsp`, `--aia`: one URL a line, each list replacing that kind; an empty list: none of it),
 * or `clear` (the CA's own URLs removed: `--clear`).
 */
export interface CaUrlsForm {
  mode: 'base' | 'each' | 'clear';
  base: string;
  crl: string;
  ocsp: string;
  aia: string;
}

export type CaUrlsField = 'base' | 'crl' | 'ocsp' | 'aia';

/** what `ca.setUrls` takes besides the CA */
export type CaUrlsInput =
  { base: string } | { crlDistributionPoints: string[]; ocspUrls: string[]; caIssuersUrls: string[] } | { clear: true };

/** the most URLs of one kind the API takes (caSetUrlsInputSchema) */
export const CA_URLS_MAX_PER_KIND = 10;

/**
 * The form checked as the API will check it (the same URL check: `isHttpUrl`), a message under each field that is
 * wrong and one for the form; `input` only when nothing is. `noRevocation`: the certificates would carry no CRL and
 * no OCSP URL (said, not refused: the API allows it).
 */
export function caUrlsFormCheck(f: CaUrlsForm): {
  input: CaUrlsInput | null;
  errors: Partial<Record<CaUrlsField | 'form', string>>;
  noRevocation: boolean;
} {
  const errors: Partial<Record<CaUrlsField | 'form', string>> = {};
  if (f.mode === 'clear') return { input: { clear: true }, errors, noRevocation: false };
  if (f.mode === 'base') {
    const base = f.base.trim();
    if (!base) errors.base = 'Give the base URL relying parties reach this server at';
    else if (!isHttpUrl(base)) errors.base = `Not an http:// or https:// URL: ${base.slice(0, 80)}`;
    return { input: errors.base ? null : { base }, errors, noRevocation: false };
  }
  const list = (field: 'crl' | 'ocsp' | 'aia'): string[] => {
    const urls = f[field]
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const bad = urls.findIndex((u) => !isHttpUrl(u));
    if (bad >= 0) errors[field] = `URL ${bad + 1} is not an http:// or https:// URL: ${urls[bad].slice(0, 80)}`;
    else if (urls.length > CA_URLS_MAX_PER_KIND) errors[field] = `At most ${CA_URLS_MAX_PER_KIND} URLs`;
    return urls;
  };
  const crlDistributionPoints = list('crl');
  const ocspUrls = list('ocsp');
  const caIssuersUrls = list('aia');
  if (crlDistributionPoints.length + ocspUrls.length + caIssuersUrls.length === 0) {
    errors.form = 'Give at least one URL, or choose "Remove its own URLs"';
  }
  const ok = Object.keys(errors).length === 0;
  return {
    input: ok ? { crlDistributionPoints, ocspUrls, caIssuersUrls } : null,
    errors,
    noRevocation: crlDistributionPoints.length === 0 && ocspUrls.length === 0,
  };
}
