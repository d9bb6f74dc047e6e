import { PkiError } from './errors';

/** RFC 5280 §5.3.1 CRLReason codes (7 is unused). The full table, for decoding CRLs and OCSP answers. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/**
 * The reasons PKI Manager revokes with: RFC 5280's reasons for public-key certificates, without
 * - `removeFromCRL` (8): only meaningful in delta CRLs, where it un-revokes (a full CRL entry with it
 *   makes `openssl verify -crl_check` accept the certificate);
 * - `aACompromise` (10): for attribute certificates only;
 * - `certificateHold` (6): holds are not supported — a revocation here is final (docs/security.md).
 */
export const ACCEPTED_REVOCATION_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
] as const satisfies readonly RevocationReason[];
export type AcceptedRevocationReason = (typeof ACCEPTED_REVOCATION_REASONS)[number];

export function isRevocationReason(v: unknown): v is RevocationReason {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, v);
}

export function isAcceptedRevocationReason(v: unknown): v is AcceptedRevocationReason {
  return typeof v === 'string' && (ACCEPTED_REVOCATION_REASONS as readonly string[]).includes(v);
}

/** Throws `revocation.invalid_reason` for anything but the accepted reasons (checked by the authority). */
export function assertAcceptedRevocationReason(v: unknown): asserts v is AcceptedRevocationReason {
  if (isAcceptedRevocationReason(v)) return;
  const why =
    v === 'removeFromCRL'
      ? ': removeFromCRL only has meaning in delta CRLs'
      : v === 'aACompromise'
        ? ': aACompromise applies to attribute certificates only'
        : v === 'certificateHold'
          ? ': certificate holds are not supported (a revocation is final)'
          : '';
  throw new PkiError(
    'revocation.invalid_reason',
    `revocation reason '${String(v)}' is not accepted${why} (use ${ACCEPTED_REVOCATION_REASONS.join(', ')})`,
  );
}

/**
 * The reason to publish in CRLs and OCSP for a stored reason. Rows written before the reasons were
 * restricted may carry removeFromCRL/aACompromise/certificateHold: they are published as
 * `unspecified`, so a revoked certificate is never presented as un-revoked or on hold.
 */
export function publishedRevocationReason(stored: RevocationReason | null | undefined): AcceptedRevocationReason {
  return isAcceptedRevocationReason(stored) ? stored : 'unspecified';
}

/** Accepts `keyCompromise`, `key-compromise`, `key_compromise`, `KEY_COMPROMISE`, `caCompromise`. */
export function normalizeRevocationReason(v: string): RevocationReason | undefined {
  const flat = v.replace(/[-_\s]/g, '').toLowerCase();
  for (const k of Object.keys(REVOCATION_REASONS) as RevocationReason[]) {
    if (k.toLowerCase() === flat) return k;
  }
  return undefined;
}

export function reasonName(code: number): RevocationReason | undefined {
  return (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find((k) => REVOCATION_REASONS[k] === code);
}
