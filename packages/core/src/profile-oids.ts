/**
 * The rules of a profile's OIDs — its extra extended key usages (`extKeyUsageOids`) and its certificate policies
 * (`certificatePolicies`): checked when a custom profile is read (profile-schema.ts) and by the linter on every plan
 * (a channel may add them: a Vault role's `ext_key_usage_oids`, `policy_identifiers`), one rule set for both.
 */
import { EKU_OIDS } from './extensions/ext-key-usage';
import type { CertificatePolicy } from './types';

/** anyPolicy (RFC 5280 §4.2.1.4) */
export const ANY_POLICY_OID = '2.5.29.32.0';
/** RFC 5280 recommends at most 200 characters of explicitText */
export const MAX_NOTICE_CHARS = 200;

/** A dotted OBJECT IDENTIFIER: two arcs at least, no leading zeros, the first arc 0–2, the second below 40 under 0/1 */
export function isDottedOid(s: string): boolean {
  if (s.length > 256 || !/^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/.test(s)) return false;
  const [first, second] = s.split('.') as [string, string];
  if (first.length > 1 || Number(first) > 2) return false;
  return first === '2' || (second.length <= 2 && Number(second) < 40);
}

export interface ProfileOids {
  isCa: boolean;
  extKeyUsage: readonly string[];
  extKeyUsageOids?: readonly string[];
  certificatePolicies?: readonly CertificatePolicy[];
}

/**
 * What is wrong with the OIDs of a profile (or of a plan's profile): a malformed OID, an extended key usage or a
 * policy given twice (RFC 5280 §4.2.1.4: a policy OID MUST NOT appear more than once), anyPolicy in a leaf (it says
 * "any policy the CA has": for CA certificates only, as the CA/Browser Forum's subscriber rules), a CPS that is not
 * an http(s) URI of printable ASCII (IA5String), a user notice empty, over 200 characters or with control characters.
 * Empty when all is well.
 */
export function profileOidProblems(p: ProfileOids): string[] {
  const out: string[] = [];
  const ekus = new Set(p.extKeyUsage.map((n) => EKU_OIDS[n] ?? n));
  for (const o of p.extKeyUsageOids ?? []) {
    if (!isDottedOid(o)) out.push(`extended key usage '${o}' is not a dotted OID`);
    else if (ekus.has(o)) out.push(`extended key usage ${o} appears twice`);
    ekus.add(o);
  }
  const seen = new Set<string>();
  for (const pol of p.certificatePolicies ?? []) {
    if (!isDottedOid(pol.oid)) out.push(`certificate policy '${pol.oid}' is not a dotted OID`);
    else if (seen.has(pol.oid)) out.push(`certificate policy ${pol.oid} appears twice`);
    seen.add(pol.oid);
    if (pol.oid === ANY_POLICY_OID && !p.isCa)
      out.push(`anyPolicy (${ANY_POLICY_OID}) belongs in CA certificates only`);
    if (pol.cps !== undefined && !/^https?:\/\/[\x21-\x7e]+$/i.test(pol.cps))
      out.push(`the CPS of certificate policy ${pol.oid} must be an http(s) URI of printable ASCII: '${pol.cps}'`);
    if (pol.notice !== undefined) {
      const chars = Array.from(pol.notice).length; // characters, not UTF-16 units
      // eslint-disable-next-line no-control-regex -- control characters are what is refused
      if (chars === 0 || chars > MAX_NOTICE_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(pol.notice))
        out.push(
          `the user notice of certificate policy ${pol.oid} must be 1–${MAX_NOTICE_CHARS} characters ` +
            'without control characters',
        );
    }
  }
  return out;
}
