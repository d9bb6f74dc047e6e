/**
 * Limits on the names a certificate may carry (issue #9, finding 9): how many subject alternative names and
 * how many bytes of them a profile allows, and the characters no name may contain — control characters,
 * bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE …) and other invisible formatting characters,
 * which make a name display differently from what is signed.
 */
import { PkiError } from '@pkim/shared';
import type { DistinguishedName, Profile, SubjectAltNames } from './types';

/** SANs a profile allows when it says nothing (`maxSans`) */
export const DEFAULT_MAX_SANS = 100;
/** UTF-8 bytes of all SAN values together a profile allows when it says nothing (`maxSanBytes`) */
export const DEFAULT_MAX_SAN_BYTES = 16 * 1024;

const SAN_TYPES = ['dns', 'ip', 'uri', 'email'] as const;

/**
 * Control (Cc), format (Cf: bidi controls, zero-width joiners and spaces, BOM, soft hyphen …), lone surrogate
 * (Cs), line/paragraph separators, and the Hangul fillers that render as nothing.
 */
const FORBIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]/u;

/** The first forbidden character of `text` and its position, or undefined. */
export function forbiddenCharacter(text: string): { codePoint: string; index: number } | undefined {
  const m = FORBIDDEN.exec(text);
  if (!m) return undefined;
  const cp = m[0].codePointAt(0) ?? 0;
  return { codePoint: `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, index: m.index };
}

/** Throws `input.forbidden_character` naming the field and the code point. */
export function checkVisibleText(text: string, field: string): void {
  const bad = forbiddenCharacter(text);
  if (bad) {
    throw new PkiError(
      'input.forbidden_character',
      `${field} contains the control or invisible character ${bad.codePoint} at position ${bad.index}`,
      { details: { field, ...bad } },
    );
  }
}

/** Every DN attribute value and every SAN must be free of control and invisible characters. */
export function checkNameCharacters(subject: DistinguishedName | undefined, sans: SubjectAltNames | undefined): void {
  for (const a of subject ?? []) if (typeof a?.value === 'string') checkVisibleText(a.value, `subject ${a.type}`);
  for (const t of SAN_TYPES) {
    for (const v of sans?.[t] ?? []) if (typeof v === 'string') checkVisibleText(v, `${t} SAN`);
  }
}

export function sanCount(sans: SubjectAltNames | undefined): number {
  return SAN_TYPES.reduce((n, t) => n + (sans?.[t]?.length ?? 0), 0);
}

export function sanBytes(sans: SubjectAltNames | undefined): number {
  let n = 0;
  for (const t of SAN_TYPES) for (const v of sans?.[t] ?? []) n += Buffer.byteLength(String(v), 'utf8');
  return n;
}

/**
 * Refuses more SANs than the profile allows (`policy.too_many_sans`, default 100) or more bytes of SAN values
 * (`policy.sans_too_large`, default 16 KiB). Duplicates count: a CSR is judged by what it asks for.
 */
export function checkSanLimits(profile: Pick<Profile, 'name' | 'maxSans' | 'maxSanBytes'>, sans?: SubjectAltNames) {
  const maxSans = profile.maxSans ?? DEFAULT_MAX_SANS;
  const maxBytes = profile.maxSanBytes ?? DEFAULT_MAX_SAN_BYTES;
  const count = sanCount(sans);
  if (count > maxSans) {
    throw new PkiError(
      'policy.too_many_sans',
      `${count} subject alternative names requested; profile ${profile.name} allows at most ${maxSans}`,
      { details: { count, max: maxSans, profile: profile.name } },
    );
  }
  const bytes = sanBytes(sans);
  if (bytes > maxBytes) {
    throw new PkiError(
      'policy.sans_too_large',
      `the subject alternative names take ${bytes} bytes; profile ${profile.name} allows at most ${maxBytes}`,
      { details: { bytes, max: maxBytes, profile: profile.name } },
    );
  }
}
