import { PkiError } from '@pkim/shared';
import { parseDn, validateDn, type DistinguishedName } from '@pkim/core';
import type { SubjectInput } from './types';

/** Turns a DN string or subject fields into a validated DistinguishedName (DER order: C … CN). */
export function subjectToDn(subject: SubjectInput | string): DistinguishedName {
  let dn: DistinguishedName;
  if (typeof subject === 'string') {
    dn = parseDn(subject);
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

export function commonNameOf(dn: DistinguishedName): string | null {
  return dn.findLast((a) => a.type === 'CN')?.value ?? null;
}
