/** RFC 5280 §5.3.1 CRLReason codes (7 is unused). */
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

export function isRevocationReason(v: unknown): v is RevocationReason {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, v);
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
