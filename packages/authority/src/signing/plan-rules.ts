// Rules of the signing pipeline that other services use too (ca-service.ts): a module of their own, so importing
// them does not load the pipeline (made on its first signature, create-authority.ts).
import { PkiError } from '@pkim/shared';
import type { CertificateInfo } from '@pkim/core';
import type { CaRepository, CaRow } from '@pkim/store';

/** X.509 times have whole seconds: plan and store exactly what the certificate will say. */
export const wholeSeconds = (ms: number): number => Math.floor(ms / 1000) * 1000;

/** the names a CA may have */
export const CA_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

/** A new CA's name: one CA_NAME allows (else `input.invalid`) and no CA has (else `ca.name_taken`). */
export async function checkNewCaName(cas: Pick<CaRepository, 'findByName'>, name: string): Promise<void> {
  if (!CA_NAME.test(name)) {
    throw new PkiError(
      'input.invalid',
      `invalid CA name '${name}': 1-64 characters, letters, digits, space, '.', '_' or '-'`,
    );
  }
  if (await cas.findByName(name)) throw new PkiError('ca.name_taken', `a CA named '${name}' already exists`);
}

/**
 * The path length of a new CA whose request names none: its profile's `pathLen` (a custom `root-ca` or
 * `intermediate-ca` may set one; without it a root is unlimited and a CA below another gets 0), cut below the
 * parent's path length the way a default lifetime is cut at the issuer's notAfter. `parentPathLen` undefined: a root.
 */
export function defaultPathLen(
  profilePathLen: number | null | undefined,
  parentPathLen: number | null | undefined,
): number | null {
  const isRoot = parentPathLen === undefined;
  const wanted = profilePathLen !== undefined ? profilePathLen : isRoot ? null : 0;
  if (isRoot || parentPathLen === null || parentPathLen === 0) return wanted; // a parent of 0: the lint refuses
  return wanted === null ? parentPathLen - 1 : Math.min(wanted, parentPathLen - 1);
}

/**
 * The notAfter of a certificate asked (or defaulted) to live `lifetimeMs` from now, in whole seconds: `end`, cut to
 * `notBefore` + the profile's maximum when the lifetime is within that maximum — notBefore is backdated a minute, so
 * `now + lifetime` would make a validity period one minute longer than asked, and asking for exactly the maximum
 * (`--ttl 398d` for tls-server, a profile whose default is its maximum) was refused as 'lifetime 398d exceeds the
 * profile maximum of 398d'. A lifetime above the maximum is left alone: the linter refuses it, never shortened.
 */
export function withinProfileMax(
  end: number,
  lifetimeMs: number,
  notBefore: number,
  profile: { maxLifetimeMs: number },
): number {
  return wholeSeconds(lifetimeMs <= profile.maxLifetimeMs ? Math.min(end, notBefore + profile.maxLifetimeMs) : end);
}

/**
 * Where a validity period asked as `lifetimeMs` from `now` ends: there, or at the channel's exact notAfter
 * (`ProvisionerModifiers.notAfter`, Vault's `not_after`) when that comes first — the request's lifetime reaches it
 * unless a cap shortened the lifetime, and the clock has moved on since the channel counted it (a lifetime in whole
 * seconds from the channel's own clock would end up to 1 s before the time asked).
 */
export function lifetimeEnd(now: number, lifetimeMs: number, fixedNotAfter: number | undefined): number {
  const end = now + lifetimeMs;
  return fixedNotAfter === undefined ? end : Math.min(end, fixedNotAfter);
}

/**
 * Refuses a CA whose certificate an outside CA signed (`ca import`, `import-existing` with an outside chain): its new
 * certificate — a renewal, or a successor's — must come from that outside CA (a new CSR), not from here.
 */
export function checkSignedHere(ca: CaRow, info: CertificateInfo, what: string): void {
  if (ca.parentId === null && (ca.issuerChainPem !== null || info.issuerDn !== info.subjectDn))
    throw new PkiError(
      'ca.externally_signed',
      `CA ${ca.name} was signed by an outside CA (${info.issuerDn}): ${what} there, from a CSR (pkim ca create ` +
        '--external)',
    );
}
