import { PkiError } from '@pkim/shared';
import type { AcmeValidationConfig } from './acme-validation';

/** One ACME directory: a CA (and the profile it issues with) plus its policy. Stored in settings. */
export interface AcmeDirectoryConfig {
  caId: string;
  profile: string;
  /** DNS name patterns the directory issues for (`localhost`, `*.test`); absent = any name */
  allowDns?: string[];
  /** IP addresses / CIDRs the directory issues for (RFC 8738); absent = no IP identifiers */
  allowIps?: string[];
  /** newAccount needs an external account binding (`pkim acme eab create`) */
  requireEab: boolean;
  /** new orders per account and hour (rate limit) */
  ordersPerHour: number;
  /** certificate lifetime (default: the profile's, capped by the CA) */
  lifetimeMs?: number;
  enabledAt: number;
  enabledBy: string;
}

export const DEFAULT_ORDERS_PER_HOUR = 300;
export const SETTINGS_PREFIX = 'acme.directory.';

function port(env: Record<string, string | undefined>, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new PkiError('input.invalid', `${name} must be a TCP port (1-65535), got '${v}'`);
  return n;
}

/** Validation settings from the environment (`PKIM_ACME_HTTP01_PORT`, `PKIM_ACME_TLSALPN01_PORT`, …). */
export function acmeValidationConfigFromEnv(env: Record<string, string | undefined>): AcmeValidationConfig {
  const resolvers = (env.PKIM_ACME_DNS_RESOLVERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const timeout = env.PKIM_ACME_VALIDATION_TIMEOUT_MS;
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = /^\s*\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new PkiError('input.invalid', `${name} must be a whole number from ${min} to ${max}, got '${v}'`);
    return n;
  };
  return {
    attempts: int('PKIM_ACME_VALIDATION_ATTEMPTS', 3, 1, 10),
    retryDelayMs: int('PKIM_ACME_VALIDATION_RETRY_MS', 2_000, 0, 300_000),
    authzReuseMs: int('PKIM_ACME_AUTHZ_REUSE_MS', 86_400_000, 0, 30 * 86_400_000),
    http01Port: port(env, 'PKIM_ACME_HTTP01_PORT', 80),
    tlsAlpn01Port: port(env, 'PKIM_ACME_TLSALPN01_PORT', 443),
    dnsResolvers: resolvers.length ? resolvers : undefined,
    timeoutMs: timeout ? Math.max(100, Number(timeout) || 10_000) : 10_000,
  };
}
