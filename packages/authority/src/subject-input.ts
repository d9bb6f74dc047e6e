import { PkiError } from '@pkim/shared';
import { formatDn, parseDn, validateDn, type DistinguishedName } from '@pkim/core';
import type { SubjectInput } from './types';

/**
 * Turns a DN string, subject fields or DN attributes (DER order; {@link subjectOfDn}) into a validated
 * DistinguishedName (DER order: C … CN).
 */
export function subjectToDn(subject: SubjectInput | string | DistinguishedName): DistinguishedName {
  let dn: DistinguishedName;
  if (typeof subject === 'string') {
    dn = parseDn(subject);
  } else if (Array.isArray(subject)) {
    dn = subject.map(({ type, value }) => ({ type, value }));
  } else if (subject.dn) {
    dn = parseDn(subject.dn);
  } else {
    dn = [];
    const push = (type: string, value: string | undefined) => {
      if (value !== undefined && value !== '') dn.push({ type, value });
    };
    push('C', subject.country);
    push('ST', subject.state);
    push('L', subject.locality);
    push('O', subject.organization);
    push('OU', subject.organizationalUnit);
    push('CN', subject.commonName);
  }
  if (dn.length === 0) throw new PkiError('dn.invalid', 'the subject is empty: give at least a common name (CN)');
  validateDn(dn);
  return dn;
}

/**
 * A value `parseDn` reads back as it is from `formatDn`'s string: no character formatDn escapes or parseDn treats
 * apart (`"+,;<>\` and `#` first), no control character, no blank at either end (parseDn drops them), no
 * lone UTF-16 surrogate (SURROGATE: parseDn reads it as U+FFFD)
 */
const SPECIAL = '\\0-\\x1f\\x7f"+,;<>\\\\';
const PLAIN_VALUE = new RegExp(`^[^\\s#${SPECIAL}](?:[^${SPECIAL}]*[^\\s${SPECIAL}])?$`);
/** a UTF-16 surrogate that is not half of a pair: not text, parseDn reads it as U+FFFD */
const SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** an attribute type's name as parseDn writes it (undefined: parseDn refuses it), by the type given */
const parsedTypes = new Map<string, string | undefined>();

function parsedType(type: string): string | undefined {
  if (parsedTypes.has(type)) return parsedTypes.get(type);
  let name: string | undefined;
  try {
    name = /^[A-Za-z][A-Za-z0-9-]*$|^\d+(?:\.\d+)+$/.test(type) ? parseDn(`${type}=x`)[0]?.type : undefined;
  } catch {
    name = undefined;
  }
  if (parsedTypes.size < 256) parsedTypes.set(type, name);
  return name;
}

/**
 * The subject to ask the signing pipeline for a DN a channel built (Vault: a role's fields and the CN): the
 * attributes themselves when `parseDn(formatDn(dn))` gives them back — the same types and values —, else the string
 * as before. `subjectToDn` of either is the same DN, refused with the same error; the attributes save the pipeline
 * parsing the string again (issue #12: ≈ 15 µs of the server's main thread per Vault `sign`, docs/benchmarks-record.md
 * session 26).
 */
export function subjectOfDn(dn: DistinguishedName): DistinguishedName | string {
  const out: DistinguishedName = [];
  for (const { type, value } of dn) {
    const parsed = parsedType(type);
    if (parsed === undefined || !PLAIN_VALUE.test(value) || SURROGATE.test(value)) return formatDn(dn);
    out.push({ type: parsed, value });
  }
  return out;
}

export function commonNameOf(dn: DistinguishedName): string | null {
  return dn.findLast((a) => a.type === 'CN')?.value ?? null;
}
