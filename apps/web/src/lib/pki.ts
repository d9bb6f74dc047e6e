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

/** key-type lists come from the API contract (one vocabulary: `ec-p256`…), not a copy */
export { CA_KEY_TYPES, LEAF_KEY_TYPES, SSH_CA_KEY_TYPES } from '@pkim/contract/vocabulary';

/** "a.example.com, 10.0.0.1" → { dns: [...], ip: [...] } (emails and URIs recognised too) */
export function parseSanList(text: string): { dns?: string[]; ip?: string[]; email?: string[]; uri?: string[] } {
  const out: { dns: string[]; ip: string[]; email: string[]; uri: string[] } = { dns: [], ip: [], email: [], uri: [] };
  for (const raw of text.split(/[\s,]+/)) {
    const v = raw.trim();
    if (!v) continue;
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(v) || (v.includes(':') && /^[0-9a-f:]+$/i.test(v))) out.ip.push(v);
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) || v.startsWith('spiffe:')) out.uri.push(v);
    else if (v.includes('@')) out.email.push(v);
    else out.dns.push(v);
  }
  return Object.fromEntries(Object.entries(out).filter(([, a]) => a.length > 0));
}
