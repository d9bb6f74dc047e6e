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
} from '@pkim/contract/vocabulary';

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
