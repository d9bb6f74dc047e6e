import { isIP } from 'node:net';

/** Subject alternative names by type (the shape of `SanJson` / core's `SubjectAltNames`). */
export interface SanLists {
  dns?: string[];
  ip?: string[];
  uri?: string[];
  email?: string[];
}

/**
 * Sorts names into SAN types: an explicit `dns:`, `ip:`, `uri:` or `email:` prefix wins; otherwise an IPv4 or
 * IPv6 address is an IP SAN, `scheme:…` (https://, spiffe://, urn:) a URI, `local@domain` an e-mail address and anything else a DNS name.
 * Empty entries are dropped; undefined when nothing is left.
 */
export function classifySans(values: Iterable<string>): SanLists | undefined {
  const out = { dns: [] as string[], ip: [] as string[], uri: [] as string[], email: [] as string[] };
  for (const v of values) {
    const raw = v.trim();
    if (!raw) continue;
    const m = /^(dns|ip|uri|email):(.*)$/i.exec(raw);
    const kind = m?.[1]?.toLowerCase() as keyof typeof out | undefined;
    if (m && kind && (kind === 'uri' || !raw.includes('://'))) out[kind].push((m[2] ?? '').trim());
    else if (isIP(raw)) out.ip.push(raw);
    else if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) out.uri.push(raw);
    else if (raw.includes('@')) out.email.push(raw);
    else out.dns.push(raw);
  }
  const result: SanLists = {};
  for (const k of ['dns', 'ip', 'uri', 'email'] as const) if (out[k].length) result[k] = out[k];
  return Object.keys(result).length ? result : undefined;
}
