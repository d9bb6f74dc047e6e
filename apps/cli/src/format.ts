/** Small helpers for readable terminal output. */
import type { VaultMountDto } from '@pkim/contract';
import type { CliContext } from './cli-context';
import { PkiError, formatLifetime, parseDuration } from '@pkim/shared';

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

/** what a certificate's detail shows of its EKUs (names, else dotted OIDs) and certificate policies */
export interface CertificatePurposes {
  extKeyUsage: string[];
  certificatePolicies: { oid: string; cps?: string; notice?: string }[];
}

/** the fields `cert show` prints: the authority's certificate row, or the REST detail mapped back (remote mode) */
export interface CertificateDetailLine {
  id: string;
  serialHex: string;
  subjectDn: string;
  sans: Sans;
  profile: string;
  caId: string;
  keyType: string;
  notBefore: number;
  notAfter: number;
  status: string;
  revokedAt: number | null;
  revocationReason: string | null;
  fingerprintSha256: string;
  requestId: string | null;
  issuedBy: string;
  renewedFrom?: string | null;
}

/** a certificate policy on one line: its OID, then `CPS <uri>` and `notice "<text>"` when it has them */
export function policyText(p: { oid: string; cps?: string; notice?: string }): string {
  return [p.oid, p.cps ? `CPS ${p.cps}` : '', p.notice ? `notice ${JSON.stringify(p.notice)}` : '']
    .filter(Boolean)
    .join(' ');
}

/** `ext key usage` and one `policy` row per certificate policy (`policies: -` without any) — only when known */
function purposeRows(purposes: CertificatePurposes | undefined): [string, string][] {
  if (!purposes) return [];
  const policies = purposes.certificatePolicies.map((p): [string, string] => ['policy', policyText(p)]);
  const none: [string, string][] = [['policies', '']];
  return [['ext key usage', purposes.extKeyUsage.join(', ')], ...(policies.length ? policies : none)];
}

/** `pkim cert show`'s text, local and remote alike */
export function certDetails(
  c: CertificateDetailLine,
  renewedBy: string[] = [],
  purposes?: CertificatePurposes,
): string {
  return keyValues([
    ['id', c.id],
    ['serial', c.serialHex],
    ['subject', c.subjectDn],
    ['SANs', sansText(c.sans)],
    ['profile', c.profile],
    ['CA', c.caId],
    ['key', c.keyType],
    ['valid', `${date(c.notBefore)} → ${date(c.notAfter)}`],
    ...purposeRows(purposes),
    ['status', c.status],
    ['revoked', c.revokedAt ? `${date(c.revokedAt)} (${c.revocationReason})` : ''],
    ['sha256', c.fingerprintSha256],
    ['request', c.requestId],
    ['issued by', c.issuedBy],
    ['renewed from', c.renewedFrom ?? ''],
    ['renewed by', renewedBy.join(', ')],
  ]);
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

/** `pkim ca list`, the same in local and remote mode: DAYS LEFT as `cert list`'s (`expired` once past its end) */
export const casTable = (items: CaLine[], now: number): string =>
  table(
    ['ID', 'NAME', 'STATUS', 'KEY', 'PARENT', 'NOT AFTER', 'DAYS LEFT', 'SUBJECT'],
    items.map((c) => [
      c.id,
      c.name,
      c.status,
      `${c.keyType}/${c.keyBackend}`,
      c.parentId,
      date(c.notAfter),
      c.notAfter === null ? null : daysLeft(c.notAfter, now),
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

// The tables below print the same in local and remote mode: each takes the fields the local command has (epoch ms
// for times); remote mode maps the API's objects to them (remote-commands.ts, remote-admin-commands.ts).

/** what `token list` prints of an API token */
export interface TokenLine {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** `pkim token list` */
export const tokensTable = (items: TokenLine[]): string =>
  table(
    ['ID', 'NAME', 'ROLE', 'SCOPES', 'EXPIRES', 'LAST USED', 'REVOKED'],
    items.map((t) => [
      t.id,
      t.name,
      t.role,
      t.scopes.join(',') || '*',
      t.expiresAt ? date(t.expiresAt) : 'never',
      date(t.lastUsedAt),
      date(t.revokedAt),
    ]),
  );

/** what `user list` prints of a user */
export interface UserLine {
  id: string;
  username: string;
  role: string;
  disabled: boolean;
  lockedUntil: number | null;
  lockedAddresses: number;
  /** the password must be changed at the next sign-in (first-boot admin, a reset password) */
  mustChangePassword?: boolean;
  createdAt: number;
}

/**
 * `pkim user list`: STATE is disabled, locked (until when, from how many addresses) or active at `now`, and
 * `new password due` when the user must change its password at the next sign-in
 */
export const usersTable = (items: UserLine[], now: number): string =>
  table(
    ['ID', 'USERNAME', 'ROLE', 'STATE', 'CREATED'],
    items.map((u) => [
      u.id,
      u.username,
      u.role,
      (u.disabled
        ? 'disabled'
        : u.lockedUntil && u.lockedUntil > now
          ? `locked until ${date(u.lockedUntil)} (${u.lockedAddresses} address` +
            `${u.lockedAddresses === 1 ? '' : 'es'})`
          : 'active') + (u.mustChangePassword ? ', new password due' : ''),
      date(u.createdAt),
    ]),
  );

/** what `profile list` prints of a profile */
export interface ProfileLine {
  name: string;
  /** where it comes from: `built-in`, `file` (the profiles file) or `api` (stored in the database) */
  source: string;
  isCa: boolean;
  keyUsage: readonly string[];
  extKeyUsage: readonly string[];
  allowedSanTypes: readonly string[];
  sanRequired: boolean;
  /** the API's duration (`3650d`) */
  defaultLifetime: string;
  maxLifetime: string;
  /** what is wrong with it though it is in effect (a key usage a key type it allows cannot carry) */
  warnings?: readonly string[];
}

/** a profile's lifetime as docs/profiles.md writes it: whole years as `10y` (the API's `3650d`), else `398d` */
export const lifetimeText = (d: string): string => formatLifetime(parseDuration(d));

/** `pkim profile list` (the API's profile summaries) */
export const profilesTable = (items: ProfileLine[]): string =>
  table(
    ['NAME', 'SOURCE', 'CA', 'KEY USAGE', 'EXT KEY USAGE', 'SANS', 'DEFAULT', 'MAX'],
    items.map((p) => [
      p.name,
      p.source,
      p.isCa ? 'yes' : 'no',
      p.keyUsage.join(','),
      p.extKeyUsage.join(',') || '-',
      `${p.allowedSanTypes.join(',') || '-'}${p.sanRequired ? ' (required)' : ''}`,
      lifetimeText(p.defaultLifetime),
      lifetimeText(p.maxLifetime),
    ]),
  ) +
  items
    .flatMap((p) => (p.warnings ?? []).map((w) => `\nwarning: profile ${p.name}: ${w} (pkim profile show ${p.name})`))
    .join('');

/** an audit event's details in one short line: its scalar fields as `key=value` */
export function auditDetailsText(d: Record<string, unknown>): string {
  const s = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** what `audit list` prints of an event */
export interface AuditLine {
  seq: number;
  time: number;
  actor: string;
  /** the actor's name (a user's, an API token's), printed instead of its id */
  actorName: string | null;
  action: string;
  outcome: string;
  target: string | null;
  details: Record<string, unknown>;
}

/** `pkim audit list` */
export const auditTable = (items: AuditLine[]): string =>
  table(
    ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'OUTCOME', 'TARGET', 'DETAILS'],
    items.map((e) => [
      e.seq,
      date(e.time),
      e.actorName ?? e.actor,
      e.action,
      e.outcome,
      e.target,
      auditDetailsText(e.details),
    ]),
  );

/** `pkim audit actors`: who acted, by name */
export const auditActorsTable = (items: { id: string; kind: string; name: string; createdAt: number }[]): string =>
  table(
    ['NAME', 'KIND', 'ID', 'CREATED'],
    items.map((a) => [a.name, a.kind === 'token' ? 'API token' : a.kind, a.id, date(a.createdAt)]),
  );

/**
 * the URL an ACME client is given: the API's `directoryUrl` (under the server's public URL), else the directory's path
 * under `base` (remote mode: the server's URL this CLI reaches), else the path alone
 */
const acmeDirectoryUrl = (d: AcmeDirectoryLine, base: string | undefined): string =>
  d.directoryUrl ?? (base ? `${base.replace(/\/+$/, '')}${d.directoryPath}` : d.directoryPath);
const acmeUrlKnown = (d: AcmeDirectoryLine, base: string | undefined) => d.directoryUrl !== null || Boolean(base);

/** said under a directory path when the server's URL is not known here (local mode without publicUrl) */
export const ACME_URL_UNKNOWN =
  "ACME clients need the server's URL before this path: set publicUrl or PKIM_PUBLIC_URL here to print it";

/** `pkim acme list` (the fields of the API's directory object these need) */
interface AcmeDirectoryLine {
  caId: string;
  caName: string;
  profile: string;
  directoryPath: string;
  directoryUrl: string | null;
  allowDns: string[] | null;
  allowIps: string[] | null;
  requireEab: boolean;
}

/** `pkim acme enable`: what was enabled and the directory URL to give ACME clients (`base`: the server's URL) */
export const acmeEnabledText = (d: AcmeDirectoryLine, base: string | undefined): string =>
  [
    `ACME enabled for CA ${d.caName} (${d.caId}), profile ${d.profile}`,
    `directory: ${acmeDirectoryUrl(d, base)}`,
    ...(acmeUrlKnown(d, base) ? [] : [`  (${ACME_URL_UNKNOWN})`]),
    `DNS names: ${d.allowDns?.join(', ') ?? 'any'}; IPs: ${d.allowIps?.join(', ') || 'none'}` +
      (d.requireEab ? '; external account binding required' : ''),
  ].join('\n');

/** `pkim acme list`: the directory URLs (`base`: the server's URL, remotely), else their paths and a note */
export const acmeDirectoriesTable = (items: AcmeDirectoryLine[], base: string | undefined): string =>
  table(
    ['CA', 'PROFILE', 'DIRECTORY', 'DNS', 'IP', 'EAB'],
    items.map((d) => [
      d.caName,
      d.profile,
      acmeDirectoryUrl(d, base),
      d.allowDns?.join(',') ?? 'any',
      d.allowIps?.join(',') || 'none',
      d.requireEab ? 'required' : 'optional',
    ]),
  ) + (items.every((d) => acmeUrlKnown(d, base)) ? '' : `\n(${ACME_URL_UNKNOWN})`);

/** `pkim acme accounts` */
export const acmeAccountsTable = (
  items: { id: string; caId: string; status: string; contact: string[]; orders: number; createdAt: string }[],
): string =>
  table(
    ['ACCOUNT', 'CA', 'STATUS', 'CONTACT', 'ORDERS', 'CREATED'],
    items.map((r) => [r.id, r.caId, r.status, r.contact.join(',') || '-', String(r.orders), r.createdAt]),
  );

/** `pkim ssh ca list` */
export const sshCasTable = (
  items: { name: string; type: string; environment: string; status: string; keyType: string; fingerprint: string }[],
): string =>
  table(
    ['NAME', 'TYPE', 'ENVIRONMENT', 'STATUS', 'KEY', 'FINGERPRINT'],
    items.map((c) => [c.name, c.type, c.environment, c.status, c.keyType, c.fingerprint]),
  );

/** `pkim ssh ca show`: every field of the CA's API view, one per line (the public key in full) */
export const sshCaText = (ca: Record<string, unknown>): string =>
  keyValues(
    Object.entries(ca).map(([k, x]) => [k, typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)]),
  );

/** `pkim notify rule list` */
export const notificationRulesTable = (
  items: {
    name: string;
    trigger: string;
    daysBefore: number[];
    events: string[];
    channel: string;
    target: string;
    ca: { name: string } | null;
    profile: string | null;
    namePattern: string | null;
    enabled: boolean;
  }[],
): string =>
  table(
    ['NAME', 'TRIGGER', 'CHANNEL', 'TARGET', 'SCOPE', 'ENABLED'],
    items.map((r) => [
      r.name,
      r.trigger === 'expiry' ? `expiry ${r.daysBefore.join('/')}d` : r.events.join(','),
      r.channel,
      r.target,
      [r.ca ? `ca=${r.ca.name}` : '', r.profile ? `profile=${r.profile}` : '', r.namePattern ?? '']
        .filter(Boolean)
        .join(' ') || 'all',
      r.enabled ? 'yes' : 'no',
    ]),
  );

interface SpiffeCaLine {
  role: string;
  name: string;
  state: string;
  notAfter: string;
  inBundleUntil: string | null;
  issuedCertCount: number;
}

/** `pkim spiffe status` (the authority's status and the API's have these fields alike): every CA of the bundle */
export const spiffeStatusText = (s: {
  status: string;
  trustDomain: string | null;
  bundleCas: SpiffeCaLine[];
  activeCertCount: number;
  supersededCertCount: number;
  expiredCertCount: number;
  deniedIdentityCount: number;
  warnings: string[];
}): string =>
  [
    `status: ${s.status}  trust domain: ${s.trustDomain ?? '-'}`,
    ...s.bundleCas.map(
      (c) =>
        `${c.role} CA ${c.name}: ${c.state}` +
        (c.inBundleUntil ? `, in the bundle until ${c.inBundleUntil}` : '') +
        `, expires ${c.notAfter}` +
        (c.role === 'root' ? '' : `, ${c.issuedCertCount} unexpired SVID(s) chain to it`),
    ),
    `SVIDs: ${s.activeCertCount} current, ${s.supersededCertCount} superseded, ${s.expiredCertCount} expired; ` +
      `${s.deniedIdentityCount} denied identities`,
    ...s.warnings.map((w) => `warning: ${w}`),
  ].join('\n');

// The tables below take the contract's objects (RFC 3339 times): local mode prints the DTO page its `--json` prints,
// remote mode the page the API answers, so both print the same table from the same object.

/** `more: --cursor X` under a page that has a next one */
const more = (nextCursor?: string | null): string => (nextCursor ? `\nmore: --cursor ${nextCursor}` : '');
/** an RFC 3339 time of the contract, printed as `date` prints epoch ms */
const isoDate = (t: string | null): string => (t === null ? '-' : date(Date.parse(t)));

/** `pkim notify deliveries` */
export const notificationDeliveriesTable = (
  items: {
    rule: { name: string };
    event: string;
    subject: string | null;
    status: string;
    attempts: number;
    nextAttemptAt: string | null;
    lastError: string | null;
    createdAt: string;
  }[],
  nextCursor?: string | null,
): string =>
  table(
    ['CREATED', 'RULE', 'EVENT', 'SUBJECT', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
    items.map((d) => [
      isoDate(d.createdAt),
      d.rule.name,
      d.event,
      d.subject,
      d.status,
      d.attempts,
      isoDate(d.nextAttemptAt),
      d.lastError,
    ]),
  ) + more(nextCursor);

/** `pkim spiffe list` */
export const svidsTable = (
  items: { spiffeId: string; serial: string; expiresAt: string; state: string }[],
  nextCursor?: string | null,
): string =>
  table(
    ['SPIFFE ID', 'SERIAL', 'EXPIRES', 'STATE'],
    items.map((i) => [i.spiffeId, i.serial, isoDate(i.expiresAt), i.state]),
  ) + more(nextCursor);

/** `pkim spiffe denied` */
export const spiffeDeniedTable = (
  items: { spiffeId: string; reason: string; deniedAt: string; deniedBy: string }[],
): string =>
  table(
    ['SPIFFE ID', 'REASON', 'DENIED AT', 'BY'],
    items.map((r) => [r.spiffeId, r.reason, isoDate(r.deniedAt), r.deniedBy]),
  );

/** `pkim acme eab list` */
export const acmeEabKeysTable = (
  items: {
    kid: string;
    caId: string;
    createdAt: string;
    createdBy: string;
    usedAt: string | null;
    accountId: string | null;
  }[],
): string =>
  table(
    ['KID', 'CA', 'CREATED', 'BY', 'USED', 'ACCOUNT'],
    items.map((r) => [r.kid, r.caId, isoDate(r.createdAt), r.createdBy, isoDate(r.usedAt), r.accountId]),
  );

/** `pkim ssh list` */
export const sshCertificatesTable = (
  items: {
    serial: string;
    ca: string;
    type: string;
    status: string;
    keyId: string;
    principals: string[];
    validBefore: string;
  }[],
  nextCursor?: string | null,
): string =>
  table(
    ['SERIAL', 'CA', 'TYPE', 'STATUS', 'KEY ID', 'PRINCIPALS', 'VALID BEFORE'],
    items.map((c) => [c.serial, c.ca, c.type, c.status, c.keyId, c.principals.join(','), isoDate(c.validBefore)]),
  ) + more(nextCursor);

/** `pkim ssh env list` */
export const sshEnvironmentsTable = (
  items: { name: string; description: string | null; userCas: number; hostCas: number; hosts: number }[],
): string =>
  table(
    ['NAME', 'DESCRIPTION', 'USER CAS', 'HOST CAS', 'HOSTS'],
    items.map((r) => [r.name, r.description, r.userCas, r.hostCas, r.hosts]),
  );

/** `pkim ssh host list` */
export const sshHostsTable = (items: { name: string; environment: string; principals: string[] }[]): string =>
  table(
    ['NAME', 'ENVIRONMENT', 'PRINCIPALS'],
    items.map((r) => [r.name, r.environment, r.principals.join(',')]),
  );

/** `pkim ssh user list` */
export const sshUsersTable = (
  items: { name: string; disabled: boolean; principals: string[]; blocks: number }[],
): string =>
  table(
    ['NAME', 'DISABLED', 'PRINCIPALS', 'BLOCKS'],
    items.map((r) => [r.name, r.disabled ? 'yes' : 'no', r.principals.join(','), r.blocks]),
  );

/** `pkim ssh principal list` */
export const sshPrincipalsTable = (items: { name: string; description: string | null; users: string[] }[]): string =>
  table(
    ['NAME', 'DESCRIPTION', 'USERS'],
    items.map((r) => [r.name, r.description, r.users.join(',')]),
  );

/** `pkim ssh blocks` */
export const sshBlocksTable = (
  items: { id: string; user: string; host: string | null; reason: string | null }[],
): string =>
  table(
    ['ID', 'USER', 'HOST', 'REASON'],
    items.map((r) => [r.id, r.user, r.host ?? '(fleet-wide)', r.reason]),
  );

/** `pkim ssh fleet-token list` */
export const sshFleetTokensTable = (
  items: {
    id: string;
    name: string;
    environment: string;
    operations: string[];
    ratePerMinute: number;
    expiresAt: string | null;
    revokedAt: string | null;
  }[],
): string =>
  table(
    ['ID', 'NAME', 'ENVIRONMENT', 'OPERATIONS', 'RATE/MIN', 'EXPIRES', 'REVOKED'],
    items.map((r) => [
      r.id,
      r.name,
      r.environment,
      r.operations.join(','),
      r.ratePerMinute,
      r.expiresAt === null ? 'never' : isoDate(r.expiresAt),
      isoDate(r.revokedAt),
    ]),
  );

/** what `pkim dashboard` prints of `insights.dashboard` (epoch ms; local rows and the API's objects alike) */
export interface DashboardLine {
  generatedAt: number;
  cas: { total: number; byStatus: Record<string, number> };
  certificates: Record<string, number>;
  expiring: { within7d: number; within30d: number; within90d: number };
  pendingRequests: number;
  /** the certificates ending within 30 days, soonest first */
  expiringSoon: { serialHex: string; name: string; notAfter: number }[];
  health: { database: boolean; keyBackends: { backend: string; ok: boolean; detail?: string }[] };
  warnings: { level: string; code: string; message: string; target: string | null }[];
}

/** what the dashboard's text reads besides the dashboard (null: the reader may not read it) */
export interface DashboardExtras {
  now: number;
  /** every CA: names in the hints, the CA certificates by expiry */
  cas: { id: string; name: string; status: string; notAfter: number | null }[] | null;
  /** the last `certificate.revoked` events, newest first */
  revoked: { time: number; actor: string; actorName: string | null; details: Record<string, unknown> }[] | null;
}

const WARNING_RANK: Record<string, number> = { critical: 0, warning: 1, info: 2 };
/** how many CA certificates and revocations the dashboard's text lists (as the console's cards) */
const DASHBOARD_CAS = 8;
export const DASHBOARD_REVOCATIONS = 5;

/** what to do about a dashboard warning, as a command (`ca`: the name of the CA it is about, else its id) */
export function dashboardHint(code: string, ca: string | null): string | null {
  const name = ca ?? '<ca>';
  switch (code) {
    case 'ca.expired':
    case 'ca.expiring':
      return `pkim ca renew ${name} (same key) or pkim ca rotate ${name} (a new key)`;
    case 'ca.no_urls':
      return (
        `pkim ca set-urls ${name} --base https://pki.example.com, or set publicUrl (PKIM_PUBLIC_URL) ` +
        'for every CA without URLs of its own'
      );
    case 'ca.none':
      return "pkim ca create --name root --subject 'CN=Example Root CA'";
    case 'certificate.expiring':
      return 'pkim cert list --expiring-within 7d; renew them with pkim cert renew-batch --expiring-within 7d';
    case 'request.pending':
      return 'pkim request list --status pending, then pkim request approve ID or reject ID --reason TEXT';
    case 'kms.unavailable':
      return "check the key backend's settings and reachability (docs/key-custody.md)";
    case 'store.unavailable':
      return 'check the database (databaseUrl / PKIM_DATABASE_URL) and that it is reachable';
    default:
      return null;
  }
}

/** a serial as `cert list` prints it: its first 16 hex characters (still a REF) */
const shortSerial = (hex: string): string => hex.slice(0, 16) + (hex.length > 16 ? '…' : '');

const counts = (o: Record<string, number>): string =>
  Object.entries(o)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** `pkim dashboard`: the console's cards in short — counts, warnings with their codes and hints, expiring, revoked */
export function dashboardText(d: DashboardLine, x: DashboardExtras): string {
  const caName = new Map((x.cas ?? []).map((c) => [c.id, c.name]));
  const warnings = [...d.warnings].sort((a, b) => (WARNING_RANK[a.level] ?? 3) - (WARNING_RANK[b.level] ?? 3));
  const out = [
    `Dashboard as of ${date(d.generatedAt)}`,
    '',
    keyValues([
      ['CAs', `${d.cas.total} (${counts(d.cas.byStatus)})`],
      ['certificates', counts(d.certificates)],
      [
        'expiring',
        `within 7 days ${d.expiring.within7d}, 30 days ${d.expiring.within30d}, 90 days ${d.expiring.within90d}`,
      ],
      ['pending requests', d.pendingRequests],
      [
        'health',
        [
          `database ${d.health.database ? 'ok' : 'UNAVAILABLE'}`,
          ...d.health.keyBackends.map(
            (k) => `${k.backend} ${k.ok ? 'ok' : `UNAVAILABLE${k.detail ? ` (${k.detail})` : ''}`}`,
          ),
        ].join(', '),
      ],
    ]),
    '',
    warnings.length === 0 ? 'Warnings: none' : `Warnings (${warnings.length}):`,
  ];
  for (const w of warnings) {
    const ca = w.target ? (caName.get(w.target) ?? (w.target.startsWith('ca_') ? w.target : null)) : null;
    const hint = dashboardHint(w.code, ca);
    out.push(`  ${w.level} ${w.code}: ${w.message}`, ...(hint ? [`    hint: ${hint}`] : []));
  }
  if (x.cas) {
    const byExpiry = x.cas
      .filter((c): c is typeof c & { notAfter: number } => c.notAfter !== null && c.status !== 'revoked')
      .sort((a, b) => a.notAfter - b.notAfter)
      .slice(0, DASHBOARD_CAS);
    out.push(
      '',
      'CA certificates by expiry (soonest first):',
      table(
        ['NAME', 'STATUS', 'NOT AFTER', 'DAYS LEFT'],
        byExpiry.map((c) => [c.name, c.status, date(c.notAfter), daysLeft(c.notAfter, x.now)]),
      ),
    );
  }
  out.push(
    '',
    'Expiring within 30 days:',
    table(
      ['SERIAL', 'NAME', 'NOT AFTER', 'DAYS LEFT'],
      d.expiringSoon.map((c) => [shortSerial(c.serialHex), c.name, date(c.notAfter), daysLeft(c.notAfter, x.now)]),
    ),
  );
  if (x.revoked) {
    out.push(
      '',
      'Recently revoked:',
      table(
        ['TIME', 'SERIAL', 'REASON', 'BY'],
        x.revoked.map((e) => [
          date(e.time),
          typeof e.details.serial === 'string' ? shortSerial(e.details.serial) : '-',
          typeof e.details.reason === 'string' ? e.details.reason : 'unspecified',
          e.actorName ?? e.actor,
        ]),
      ),
    );
  }
  return out.join('\n');
}

// `pkim ssh trust`'s output, local and remote alike (here, not a module of its own: one chunk fewer for the CLI's
// start, apps/cli/test/startup-loads.test.ts): `--user` prints the environment's TrustedUserCAKeys file and `--host`
// its known_hosts lines, each exactly as the file is (to redirect); without them both under `#` headers; `--json` the
// contract's object.

export interface SshTrustOptions {
  environment?: string;
  user?: boolean;
  host?: boolean;
}

/** which one file the options ask for (undefined: both, to read), refused before anything is asked */
export function sshTrustFile(o: SshTrustOptions, json: boolean): 'user' | 'host' | undefined {
  if (o.user && o.host)
    throw new PkiError('input.invalid', '--user and --host each print one file: give one (or neither, to read both)');
  const file = o.user ? 'user' : o.host ? 'host' : undefined;
  if (file && json)
    throw new PkiError('input.invalid', `--${file} prints the file itself, --json the object of both: give one`);
  return file;
}

/** the output of `ssh trust` (`trust`: the authority's answer or the contract's object — the same two strings) */
export function printSshTrust(
  ctx: CliContext,
  dto: unknown,
  trust: { userCaKeys: string; knownHosts: string },
  o: SshTrustOptions,
): void {
  const file = sshTrustFile(o, !!ctx.options().json);
  const env = o.environment ?? 'default';
  if (file) {
    const content = file === 'user' ? trust.userCaKeys : trust.knownHosts;
    // an empty file would trust nothing without a word: refused, naming what is missing
    if (!content) {
      throw new PkiError(
        'ssh.ca_not_found',
        `environment ${env} trusts no ${file} CA: no ${file === 'user' ? 'TrustedUserCAKeys' : 'known_hosts'} ` +
          `lines to print (pkim ssh ca create --type ${file} --environment ${env})`,
      );
    }
    ctx.io.stdout.write(content.endsWith('\n') ? content : `${content}\n`);
    return;
  }
  ctx.output(
    dto,
    () =>
      `# TrustedUserCAKeys\n${trust.userCaKeys || '(no user CA)\n'}\n` +
      `# known_hosts\n${trust.knownHosts || '(no host CA)\n'}`,
  );
}
