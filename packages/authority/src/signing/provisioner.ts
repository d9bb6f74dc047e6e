import { PkiError, type KeyType } from '@pkim/shared';
import type { Permission } from '../permissions';
import type {
  CertificatePolicy,
  DistinguishedName,
  ExtKeyUsageName,
  KeyUsageName,
  Profile,
  SubjectAltNames,
} from '@pkim/core';

/** What a channel validator sees of a leaf about to be planned (CA, profile and lifetime resolved). */
export interface LeafFacts {
  ca: { id: string; name: string; notAfter: number | null };
  /** the profile as this channel issues it (modifiers applied) */
  profile: Profile;
  subject: DistinguishedName;
  sans: SubjectAltNames;
  /** the subject key type (of the CSR, or of the key about to be generated) */
  keyType: KeyType;
  /** the lifetime after modifiers (undefined = the profile default, clamped to the issuer) */
  lifetimeMs: number | undefined;
  source: 'csr' | 'generated-key' | 'approved-request';
}

/** A channel-specific validator (e.g. a Vault role's name rules with Vault's messages); throws PkiError to refuse. */
export type LeafValidator = (facts: LeafFacts) => void;

/**
 * A provisioner is the channel a signing request came through and what that channel may issue, as data.
 * Every certificate names the provisioner that authorised it (audit `certificate.issued` / `ca.created`).
 *
 * - `user`: a local user acting through their role (console, CLI with --server, tRPC);
 * - `token`: an API token (scopes decide WHICH operations, `resources` decide on WHICH CAs/profiles/names);
 * - `local`: the local CLI operator (`cli:<os-user>`), unrestricted like an admin;
 * - `system`: the authority itself (maintenance, tests);
 * - `vault-role`, `spiffe`, `acme`: later channels; their transport builds the provisioner from its own data
 *   (a Vault role, a SPIFFE registration entry, an ACME account's authorised identifiers).
 */
export type ProvisionerKind =
  | 'user'
  | 'token'
  | 'local'
  | 'system'
  | 'vault-role'
  | 'spiffe'
  | 'acme'
  | 'bulk'
  /** a fleet token of the SSH CA (docs/ssh.md): one environment, sign-host/sign-user */
  | 'ssh-fleet';

/** Validators: may this channel get these names / this profile / this lifetime / this key type from this CA? */
export interface ProvisionerPolicy {
  /** CA ids or names this channel may sign with (leaf issuance, CA creation below them); absent = any */
  cas?: string[];
  /** profile names this channel may use; absent = any */
  profiles?: string[];
  /**
   * name patterns every requested name (DNS/IP/email/URI SAN and a host-name CN) must match; absent = any.
   * `payments.example.com` exact · `*.payments.example.com` any name below it (not the apex) ·
   * `10.0.0.0/8` CIDR · `*@example.com` / `ops@example.com` e-mail · `spiffe://example.org/ns/*` URI prefix.
   */
  names?: string[];
  /** longest lifetime this channel may get (ms) */
  maxLifetimeMs?: number;
  /** subject key types this channel may certify; absent = what the profile allows */
  keyTypes?: KeyType[];
  /** may create CA certificates (root/intermediate); default false for every kind but `local`/`system` and admins */
  allowCaCertificates?: boolean;
  /**
   * channel rules that are not plain data (Vault's glob/bare-domain/localhost rules, its IP/URI SAN switches):
   * run before the generic checks above (so the channel's own messages come first), before anything is planned
   * or signed; the generic checks still apply afterwards
   */
  validators?: LeafValidator[];
}

/** Modifiers: defaults filled in when the request leaves them out, and template overrides of the profile. */
export interface ProvisionerModifiers {
  /** profile used when the request names none */
  defaultProfile?: string;
  /** lifetime used when the request names none (still capped by policy, profile and issuer) */
  defaultLifetimeMs?: number;
  /** replaces the profile's extended key usages (e.g. a Vault role's server_flag/client_flag, SPIFFE per service) */
  extKeyUsage?: ExtKeyUsageName[];
  /** replaces the profile's key usages */
  keyUsage?: KeyUsageName[];
  /** replaces the profile's further extended key usages by OID (a Vault role's `ext_key_usage_oids`) */
  extKeyUsageOids?: string[];
  /** replaces the profile's certificate policies (a Vault role's `policy_identifiers`); linted as a profile's */
  certificatePolicies?: CertificatePolicy[];
  /**
   * replaces the profile's `leafBasicConstraints`: false, the leaves carry no basicConstraints (a Vault role without
   * `basic_constraints_valid_for_non_ca`, as OpenBao's), true the critical cA FALSE every other channel's carry
   */
  leafBasicConstraints?: boolean;
  /** lifetimes longer than this are shortened instead of refused (Vault's `max_ttl` semantics) */
  capLifetimeMs?: number;
  /**
   * sign and audit, but do not store the certificate row (Vault's `no_store`): the certificate cannot be listed,
   * looked up or revoked by serial afterwards. The audit event still records serial and fingerprint.
   */
  noStore?: boolean;
  /**
   * relying-party URLs written into the certificate INSTEAD of the server's own (`--public-url`) CDP/AIA URLs
   * (Vault's `config/urls` of a mount); an empty list leaves that extension out, as Vault does
   */
  urls?: { crlDistributionPoints: string[]; ocspUrls: string[]; caIssuersUrls: string[] };
  /**
   * how far notBefore is set before the signing time, ms (Vault's `not_before_duration`); never before the issuer's
   * own notBefore. Default: one minute.
   */
  backdateMs?: number;
  /**
   * the exact notAfter asked (epoch ms; Vault's `not_after`): the certificate ends there (in whole seconds), unless
   * the lifetime left after the caps (the request's `lifetimeMs`, which a channel giving this sets to the time up to
   * it, then `capLifetimeMs`, the profile's maximum) ends sooner — then it ends there, as a lifetime would. It never
   * widens a lifetime: `maxLifetimeMs` and the issuer's notAfter (the linter) refuse as they refuse a lifetime.
   */
  notAfter?: number;
}

export interface Provisioner {
  kind: ProvisionerKind;
  /** stable id recorded in audit events: `usr_…`, `tok_…`, `vault-role:web`, `spiffe:…`, `acme:acct_…` */
  id: string;
  /** display name */
  name: string;
  policy: ProvisionerPolicy;
  modifiers?: ProvisionerModifiers;
  /**
   * the permission an actor needs to have a leaf signed through this channel (default `certificate:issue`);
   * e.g. SPIFFE: `spiffe:sign`, so a workload token can get its SVID and nothing else
   */
  permission?: Permission;
}

/** What the audit event records about the provisioner. */
export function provisionerRef(p: Provisioner): { kind: ProvisionerKind; id: string; name: string } {
  return { kind: p.kind, id: p.id, name: p.name };
}

/** Resource limits stored with an API token or a user (the data behind a `token`/`user` provisioner). */
export interface ResourceLimits {
  cas?: string[];
  profiles?: string[];
  names?: string[];
  maxLifetimeMs?: number;
  /** SPIFFE identities an API token may request: `<service type>/<instance id glob>` (`--spiffe-allow`) */
  spiffe?: string[];
}

const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** patterns found valid (a Vault role's patterns are checked on every `sign` request: twice, ≈ 1 µs each) */
const validPatterns = new Set<string>();
const MAX_VALID_PATTERNS = 10_000;

/** Checks a name pattern's syntax (used when a token/user is given resources). */
export function validateNamePattern(pattern: string): void {
  if (validPatterns.has(pattern)) return;
  checkNamePattern(pattern);
  if (validPatterns.size >= MAX_VALID_PATTERNS) validPatterns.clear();
  validPatterns.add(pattern);
}

function checkNamePattern(pattern: string): void {
  const p = pattern.trim().toLowerCase();
  const bad = () => new PkiError('input.invalid', `invalid name pattern '${pattern}'`);
  if (!p) throw bad();
  if (p.includes('://')) return; // URI prefix pattern
  if (p.includes('@')) {
    const [local, domain] = p.split('@');
    if (!domain || (local !== '*' && !local) || domain.split('.').some((l) => !HOST_LABEL.test(l))) throw bad();
    return;
  }
  if (p.includes('/') || /^[0-9.]+$/.test(p) || p.includes(':')) {
    if (!parseCidr(p)) throw bad();
    return;
  }
  const labels = p.startsWith('*.') ? p.slice(2).split('.') : p.split('.');
  if (labels.some((l) => !HOST_LABEL.test(l))) throw bad();
}

function ipToBigInt(ip: string): { v: bigint; bits: number } | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split('.').map(Number);
    if (parts.some((n) => n > 255)) return undefined;
    return { v: parts.reduce((a, n) => (a << 8n) | BigInt(n), 0n), bits: 32 };
  }
  if (!ip.includes(':')) return undefined;
  const [head, tail] = ip.split('::');
  if (ip.split('::').length > 2) return undefined;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  return { v: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n), bits: 128 };
}

function parseCidr(p: string): { v: bigint; bits: number; prefix: number } | undefined {
  const [addr = '', len] = p.split('/');
  const ip = ipToBigInt(addr);
  if (!ip) return undefined;
  const prefix = len === undefined ? ip.bits : Number(len);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > ip.bits) return undefined;
  return { ...ip, prefix };
}

/** `name` as a DNS pattern compares it: lower case, without one trailing dot */
const dnsForm = (name: string) => name.toLowerCase().replace(/\.$/, '');

export type NameKind = 'dns' | 'ip' | 'email' | 'uri';

/**
 * Does one requested name match one pattern? Patterns of another kind never match. The same rule as
 * namePatternMatcher (which compiles a role's patterns once): one pattern compiled and compared here.
 */
export function nameMatches(kind: NameKind, name: string, pattern: string): boolean {
  return nameMatcherFor(kind, name)(compilePattern(pattern));
}

/** a pattern classified once (URI, email, IP/CIDR, else DNS name): what it matches of each kind (undefined: nothing) */
interface CompiledPattern {
  uri?: { prefix: string } | { exact: string };
  /** the local part (`*` any) and the domain pattern, lower case */
  email?: { local: string; domain: DnsPattern };
  /** the CIDR (parseCidr: undefined matches no address) */
  ip?: { cidr: ReturnType<typeof parseCidr> };
  dns?: DnsPattern;
}
/** a DNS pattern: `*.x` any name below x (suffix `.x`), else the name itself (lower case, no trailing dot) */
type DnsPattern = { suffix: string } | { exact: string };

function compileDns(pattern: string): DnsPattern {
  const p = dnsForm(pattern);
  return p.startsWith('*.') ? { suffix: p.slice(1) } : { exact: p };
}

const dnsPatternMatches = (d: DnsPattern, n: string): boolean =>
  'suffix' in d ? n.endsWith(d.suffix) && n.length > d.suffix.length : n === d.exact;

function compilePattern(pattern: string): CompiledPattern {
  const p = pattern.trim();
  if (p.includes('://')) return { uri: p.endsWith('*') ? { prefix: p.slice(0, -1) } : { exact: p } };
  if (p.includes('@')) {
    const [local = '', domain = ''] = p.toLowerCase().split('@');
    return { email: { local, domain: compileDns(domain) } };
  }
  if (p.includes('/') || /^[0-9.]+$/.test(p) || p.includes(':')) return { ip: { cidr: parseCidr(p) } };
  return { dns: compileDns(p) };
}

/** one requested name as the compiled patterns of its kind compare it, worked out once per name */
function nameMatcherFor(kind: NameKind, name: string): (c: CompiledPattern) => boolean {
  switch (kind) {
    case 'uri':
      return (c) => c.uri !== undefined && ('prefix' in c.uri ? name.startsWith(c.uri.prefix) : name === c.uri.exact);
    case 'email': {
      const [nl, nd] = name.toLowerCase().split('@');
      if (nd === undefined) return () => false;
      const n = dnsForm(nd);
      return (c) =>
        c.email !== undefined &&
        dnsPatternMatches(c.email.domain, n) &&
        (c.email.local === '*' || c.email.local === nl);
    }
    case 'ip': {
      const a = ipToBigInt(name);
      if (!a) return () => false;
      return (c) => {
        const cidr = c.ip?.cidr;
        if (a.bits !== cidr?.bits) return false;
        const shift = BigInt(cidr.bits - cidr.prefix);
        return a.v >> shift === cidr.v >> shift;
      };
    }
    case 'dns': {
      const n = dnsForm(name);
      return (c) => c.dns !== undefined && dnsPatternMatches(c.dns, n);
    }
  }
}

/** Does one requested name match any of these patterns? (nameMatches over the list, each pattern classified once) */
export type NamePatternMatcher = (kind: NameKind, name: string) => boolean;

/**
 * compiled matchers by pattern list: a provisioner's list (a Vault role's, per role object: vault-issue-service.ts; a
 * token's resources, per remembered row) is compiled on its first use. The list is compared element by element at
 * each use (a list changed in place is compiled again), so no answer depends on what was compiled before.
 */
const compiledLists = new WeakMap<readonly string[], { patterns: readonly string[]; match: NamePatternMatcher }>();

/**
 * The patterns' matcher: the same answers as `patterns.some((p) => nameMatches(kind, name, p))`, with each pattern
 * classified (trim, kind, lower case, CIDR) once instead of per name and pattern (issue #12: ≈ 20 µs per Vault `sign`
 * request, docs/benchmarks-record.md session 26 "HTTP sign routes").
 */
export function namePatternMatcher(patterns: readonly string[]): NamePatternMatcher {
  const hit = compiledLists.get(patterns);
  if (hit?.patterns.length === patterns.length && hit.patterns.every((p, i) => p === patterns[i])) {
    return hit.match;
  }
  const compiled = patterns.map(compilePattern);
  const match: NamePatternMatcher = (kind, name) => compiled.some(nameMatcherFor(kind, name));
  compiledLists.set(patterns, { patterns: [...patterns], match });
  return match;
}
