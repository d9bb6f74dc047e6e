import { hash as digest } from 'node:crypto';
import { PkiError } from '@pkim/shared';
import { sessionCookieOf } from './http/auth-plugin';

/**
 * Per-client request budgets (fixed windows), one per surface, so a client that floods the API cannot
 * starve relying parties of OCSP, CRLs and AIA certificates, and a tRPC batch pays for every call in it.
 * In memory and per process: several instances each enforce their own budget.
 */
export interface BudgetOptions {
  /** units per window per client address */
  max: number;
  timeWindowMs: number;
}

export interface BudgetDecision {
  ok: boolean;
  limit: number;
  remaining: number;
  /** seconds until the window resets */
  resetSeconds: number;
}

export interface RequestBudget {
  /** charges `cost` units to `key`; refused (nothing charged) when the window has no room left */
  take(key: string, cost: number, now: number): BudgetDecision;
}

const MAX_KEYS = 100_000;

/** Default budget of the API surfaces (tRPC, REST, Vault, SPIFFE, ACME, SSH) per client: 1200 per minute. */
export const DEFAULT_API_RATE_LIMIT: BudgetOptions = { max: 1200, timeWindowMs: 60_000 };
/** Default budget of the relying-party endpoints (OCSP, CRL, AIA) per client address: 60,000 per minute. */
export const DEFAULT_RELYING_PARTY_RATE_LIMIT: BudgetOptions = { max: 60_000, timeWindowMs: 60_000 };

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a rate limit setting (`PKIM_RATE_LIMIT`, `PKIM_RATE_LIMIT_RELYING_PARTY`): `0` or `off` disables,
 * `<max>/<window>` with a window of seconds, minutes or hours (`600/1m`, `50/10s`, `20000/1h`; a bare unit means 1).
 * Empty or undefined → `fallback`. Throws `input.invalid` naming the variable.
 */
export function parseRateLimit(
  value: string | undefined,
  name: string,
  fallback: BudgetOptions | false,
): BudgetOptions | false {
  const v = value?.trim();
  if (v === undefined || v === '') return fallback;
  if (v === '0' || v.toLowerCase() === 'off') return false;
  const m = /^(\d{1,9})\s*\/\s*(\d{0,6})\s*([smh])$/i.exec(v);
  const max = m ? Number(m[1]) : NaN;
  const count = m ? (m[2] ? Number(m[2]) : 1) : NaN;
  if (!m || max < 1 || count < 1 || count * WINDOW_UNITS[m[3]!.toLowerCase()]! > 86_400_000) {
    throw new PkiError(
      'input.invalid',
      `invalid ${name} '${v.slice(0, 40)}': expected 0 (off) or <requests>/<window>, e.g. 600/1m, 50/10s, 20000/1h ` +
        '(window at most 24h)',
    );
  }
  return { max, timeWindowMs: count * WINDOW_UNITS[m[3]!.toLowerCase()]! };
}

export function createRequestBudget(opts: BudgetOptions): RequestBudget {
  const windows = new Map<string, { start: number; used: number }>();
  return {
    take(key, cost, now) {
      let w = windows.get(key);
      if (!w || now - w.start >= opts.timeWindowMs) {
        if (!w && windows.size >= MAX_KEYS) {
          // drop windows that have run out; if none has, the oldest entry
          for (const [k, v] of windows) if (now - v.start >= opts.timeWindowMs) windows.delete(k);
          if (windows.size >= MAX_KEYS) windows.delete(windows.keys().next().value!);
        }
        w = { start: now, used: 0 };
        windows.set(key, w);
      }
      const resetSeconds = Math.max(1, Math.ceil((w.start + opts.timeWindowMs - now) / 1000));
      if (w.used + cost > opts.max) return { ok: false, limit: opts.max, remaining: 0, resetSeconds };
      w.used += cost;
      return { ok: true, limit: opts.max, remaining: opts.max - w.used, resetSeconds };
    },
  };
}

/** Number of procedure calls in a tRPC request path (`/trpc/a,b,c?batch=1` → 3). */
export function trpcCallCount(url: string): number {
  const path = url.split('?')[0] ?? '';
  const i = path.indexOf('/trpc/');
  if (i < 0) return 1;
  const names = path.slice(i + 6);
  return names ? names.split(',').length : 1;
}

/** The DER OCSPResponse `{ responseStatus: tryLater (3) }` (RFC 6960 §4.2.1): the responder is overloaded. */
export const OCSP_TRY_LATER = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x03]);

/** What the budget key is derived from: the credential a request presents, or its client address. */
export interface CredentialCheck {
  authenticateToken(token: string): Promise<unknown>;
  authenticateSession(sessionToken: string): Promise<unknown>;
}

const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;
const CREDENTIAL_TTL_MS = 30_000;
const MAX_CREDENTIALS = 10_000;

/**
 * Budget keys: a request presenting a VALID API token (`Authorization: Bearer`, `X-Vault-Token`) or session cookie is
 * charged to that token or session (`c:<hash>`), so clients behind one NAT or proxy each get their own budget and one
 * token cannot starve another; anything else — no credential, or one that does not authenticate — is charged to the
 * client address (`ip:<address>`), so inventing tokens buys no budget. Validity is remembered for 30 s per credential
 * hash (the key only; every request is still authenticated by its transport).
 */
export function createBudgetKeyer(
  auth: CredentialCheck,
): (headers: Record<string, string | string[] | undefined>, ip: string) => Promise<string> {
  const known = new Map<string, { valid: boolean; until: number }>();
  return async (headers, ip) => {
    let credential: string | undefined;
    let session = false;
    const authorization = headers.authorization;
    const vaultToken = headers['x-vault-token'];
    if (typeof authorization === 'string') credential = BEARER_RE.exec(authorization)?.[1];
    else if (typeof vaultToken === 'string' && vaultToken !== '') credential = vaultToken;
    else if (typeof headers.cookie === 'string') {
      credential = sessionCookieOf(headers.cookie);
      session = true;
    }
    if (credential === undefined || credential.length > 256) return `ip:${ip}`;
    // one-shot hash: the transport hashes the credential again to authenticate it (authority API), ≈ 0.25 µs each
    const hash = digest('sha256', credential, 'base64url');
    const now = Date.now();
    let entry = known.get(hash);
    if (!entry || entry.until <= now) {
      const valid = session
        ? (await auth.authenticateSession(credential)) !== undefined
        : (await auth.authenticateToken(credential)) !== undefined;
      if (known.size >= MAX_CREDENTIALS) known.clear();
      entry = { valid, until: now + CREDENTIAL_TTL_MS };
      known.set(hash, entry);
    }
    return entry.valid ? `c:${hash}` : `ip:${ip}`;
  };
}
