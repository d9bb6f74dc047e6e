/** Small helpers for readable terminal output. */
import type { VaultMountDto } from '@pkim/contract';

export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  if (cells.length === 0) return `${line(headers)}\n(none)`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function keyValues(pairs: [string, string | number | null | undefined][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => `${`${k}:`.padEnd(w + 2)}${v === null || v === undefined || v === '' ? '-' : v}`)
    .join('\n');
}

export function date(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function sansText(
  s: { dns?: string[]; ip?: string[]; uri?: string[]; email?: string[] } | null | undefined,
): string {
  if (!s) return '-';
  const parts = [
    ...(s.dns ?? []).map((v) => `DNS:${v}`),
    ...(s.ip ?? []).map((v) => `IP:${v}`),
    ...(s.uri ?? []).map((v) => `URI:${v}`),
    ...(s.email ?? []).map((v) => `email:${v}`),
  ];
  return parts.length ? parts.join(', ') : '-';
}

/** whole days until `notAfter` (rounded down), `expired` once it has passed */
export function daysLeft(notAfter: number, now: number): string {
  return notAfter <= now ? 'expired' : String(Math.floor((notAfter - now) / 86_400_000));
}

/** the name a certificate is known by: its common name, else its first SAN; `(+n)` more SANs */
export function firstName(c: {
  commonName?: string | null;
  sans: { dns?: string[]; ip?: string[]; uri?: string[]; email?: string[] };
}): string {
  const sans = [...(c.sans.dns ?? []), ...(c.sans.ip ?? []), ...(c.sans.email ?? []), ...(c.sans.uri ?? [])];
  const name = c.commonName ?? sans[0] ?? '-';
  const more = sans.filter((s) => s !== name).length;
  return more ? `${name} (+${more})` : name;
}

/** `pkim vault mounts`: the table of the contract's mount objects, so local and remote mode print the same */
export function vaultMountsTable(items: VaultMountDto[]): string {
  return table(
    ['PATH', 'CA', 'ROLES', 'DEFAULT TTL', 'MAX TTL', 'CREATED'],
    items.map((m) => [
      `${m.path}/`,
      m.ca.name ?? (m.ca.id || '(no CA yet)'),
      String(m.roles),
      m.defaultLeaseTtl,
      m.maxLeaseTtl,
      date(Date.parse(m.createdAt)),
    ]),
  );
}

/** `pkim vault mount`: the one line said about a new mount (local and remote mode) */
export const vaultMountedLine = (m: VaultMountDto): string =>
  `mounted PKI at ${m.path}/ (CA ${m.ca.name ?? m.ca.id}); Vault clients use /v1/${m.path}/… of \`pkim serve\``;

/** `pkim cert delete`'s line, in both modes */
export const certificateDeletedLine = (serial: string): string =>
  `certificate ${serial} deleted (the audit trail keeps its serial and fingerprint)`;

interface Sans {
  dns?: string[];
  ip?: string[];
  uri?: string[];
  email?: string[];
}

/** what `cert list` prints of a certificate: the local row's fields (remote mode maps the API's objects to them) */
export interface CertificateLine {
  id: string;
  serialHex: string;
  caId: string;
  status: string;
  profile: string;
  notBefore: number;
  notAfter: number;
  subjectDn: string;
  commonName: string | null;
  sans: Sans;
}

/** `pkim cert list` (`--wide`: every column), the same in local and remote mode */
export function certificatesTable(
  items: CertificateLine[],
  o: { caNames: ReadonlyMap<string, string>; now: number; wide?: boolean; nextCursor?: string | null },
): string {
  const ca = (id: string) => o.caNames.get(id) ?? id;
  return (
    (o.wide
      ? table(
          ['ID', 'SERIAL', 'CA', 'STATUS', 'PROFILE', 'NOT BEFORE', 'NOT AFTER', 'DAYS LEFT', 'SUBJECT', 'SANS'],
          items.map((c) => [
            c.id,
            c.serialHex,
            ca(c.caId),
            c.status,
            c.profile,
            date(c.notBefore),
            date(c.notAfter),
            daysLeft(c.notAfter, o.now),
            c.subjectDn,
            sansText(c.sans),
          ]),
        )
      : table(
          ['SERIAL', 'CA', 'STATUS', 'DAYS LEFT', 'NAME'],
          items.map((c) => [
            c.serialHex.slice(0, 16) + (c.serialHex.length > 16 ? '…' : ''),
            ca(c.caId),
            c.status,
            daysLeft(c.notAfter, o.now),
            firstName(c),
          ]),
        )) + (o.nextCursor ? `\nmore: --cursor ${o.nextCursor}` : '')
  );
}

/** what `ca list` prints of a CA (the local row's fields) */
export interface CaLine {
  id: string;
  name: string;
  status: string;
  keyType: string;
  keyBackend: string;
  parentId: string | null;
  notAfter: number | null;
  subjectDn: string;
}

/** `pkim ca list`, the same in local and remote mode */
export const casTable = (items: CaLine[]): string =>
  table(
    ['ID', 'NAME', 'STATUS', 'KEY', 'PARENT', 'NOT AFTER', 'SUBJECT'],
    items.map((c) => [
      c.id,
      c.name,
      c.status,
      `${c.keyType}/${c.keyBackend}`,
      c.parentId,
      date(c.notAfter),
      c.subjectDn,
    ]),
  );

/** what `request list` prints of a request (the local row's fields) */
export interface RequestLine {
  id: string;
  status: string;
  profile: string;
  createdAt: number;
  requester: string;
  subjectDn: string;
}

/** `pkim request list`, the same in local and remote mode */
export const requestsTable = (items: RequestLine[], nextCursor?: string | null): string =>
  table(
    ['ID', 'STATUS', 'PROFILE', 'SUBMITTED', 'REQUESTER', 'SUBJECT'],
    items.map((r) => [r.id, r.status, r.profile, date(r.createdAt), r.requester, r.subjectDn]),
  ) + (nextCursor ? `\nmore: --cursor ${nextCursor}` : '');
