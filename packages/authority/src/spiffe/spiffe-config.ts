import { KEY_TYPES, PkiError, parseDuration, type KeyType } from '@pkim/shared';
import type { BackendName } from '@pkim/keys';
import { checkTrustDomain } from './spiffe-id';

/** The SVID lifetime cap no configuration can raise (short lifetimes are what replaces revocation). */
export const HARD_MAX_SVID_TTL_MS = 24 * 3_600_000;

/** SPIFFE settings (`PKIM_SPIFFE_*`, docs/spiffe.md). */
export interface SpiffeConfig {
  /** PKIM_SPIFFE_TRUST_DOMAIN: the trust domain `pkim serve` initialises at start (optional) */
  trustDomain?: string;
  /** PKIM_SPIFFE_KEY_TYPES: key types accepted in SVID CSRs (default ec-p384) */
  keyTypes: KeyType[];
  /** PKIM_SPIFFE_CA_KEY_TYPE: key type of the root and intermediates (default ec-p384) */
  caKeyType: KeyType;
  /** PKIM_SPIFFE_CA_BACKEND: key backend of the SPIFFE CAs (default software) */
  caBackend: BackendName;
  /** PKIM_SPIFFE_ROOT_VALIDITY (default 10y) */
  rootValidityMs: number;
  /** PKIM_SPIFFE_INTERMEDIATE_VALIDITY (default 1y) */
  intermediateValidityMs: number;
  /** PKIM_SPIFFE_SVID_TTL: lifetime when the request names none (default 1h) */
  defaultTtlMs: number;
  /** PKIM_SPIFFE_MAX_TTL: longest lifetime a request may ask for (default and hard cap 24h) */
  maxTtlMs: number;
  /** PKIM_SPIFFE_PURGE_AFTER: expired SVID rows are purged this long after expiry (default 24h) */
  purgeAfterMs: number;
  /** PKIM_SPIFFE_WARN_BEFORE: status warns when a CA expires within this (default 30d) */
  warnBeforeMs: number;
  /** PKIM_SPIFFE_EPHEMERAL: in-memory store and keys (development, tests) */
  ephemeral: boolean;
}

export const DEFAULT_SPIFFE_CONFIG: SpiffeConfig = {
  keyTypes: ['ec-p384'],
  caKeyType: 'ec-p384',
  caBackend: 'software',
  rootValidityMs: 10 * 365 * 86_400_000,
  intermediateValidityMs: 365 * 86_400_000,
  defaultTtlMs: 3_600_000,
  maxTtlMs: HARD_MAX_SVID_TTL_MS,
  purgeAfterMs: 86_400_000,
  warnBeforeMs: 30 * 86_400_000,
  ephemeral: false,
};

function keyType(v: string, name: string): KeyType {
  if (!(KEY_TYPES as readonly string[]).includes(v))
    throw new PkiError('input.invalid', `${name}: unknown key type '${v}' (use ${KEY_TYPES.join(', ')})`);
  return v as KeyType;
}

function duration(v: string, name: string): number {
  try {
    return parseDuration(v);
  } catch {
    throw new PkiError('input.invalid', `${name}: invalid duration '${v}' (e.g. 1h, 30m, 24h)`);
  }
}

function flag(v: string, name: string): boolean {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new PkiError('input.invalid', `${name}: expected true or false, got '${v}'`);
}

/** Reads `PKIM_SPIFFE_*` over `overrides` over the defaults; throws `input.invalid` naming the variable. */
export function spiffeConfigFromEnv(
  env: Record<string, string | undefined>,
  overrides: Partial<SpiffeConfig> = {},
): SpiffeConfig {
  const c: SpiffeConfig = { ...DEFAULT_SPIFFE_CONFIG, ...overrides };
  const get = (k: string) => {
    const v = env[`PKIM_SPIFFE_${k}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  let v: string | undefined;
  if ((v = get('TRUST_DOMAIN'))) c.trustDomain = checkTrustDomain(v);
  if ((v = get('KEY_TYPES')))
    c.keyTypes = [...new Set(v.split(',').map((x) => keyType(x.trim(), 'PKIM_SPIFFE_KEY_TYPES')))];
  if ((v = get('CA_KEY_TYPE'))) c.caKeyType = keyType(v, 'PKIM_SPIFFE_CA_KEY_TYPE');
  if ((v = get('CA_BACKEND'))) {
    if (!['software', 'pkcs11', 'kmip'].includes(v))
      throw new PkiError('input.invalid', `PKIM_SPIFFE_CA_BACKEND: use software, pkcs11 or kmip, not '${v}'`);
    c.caBackend = v as BackendName;
  }
  if ((v = get('ROOT_VALIDITY'))) c.rootValidityMs = duration(v, 'PKIM_SPIFFE_ROOT_VALIDITY');
  if ((v = get('INTERMEDIATE_VALIDITY'))) c.intermediateValidityMs = duration(v, 'PKIM_SPIFFE_INTERMEDIATE_VALIDITY');
  if ((v = get('SVID_TTL'))) c.defaultTtlMs = duration(v, 'PKIM_SPIFFE_SVID_TTL');
  if ((v = get('MAX_TTL'))) c.maxTtlMs = duration(v, 'PKIM_SPIFFE_MAX_TTL');
  if ((v = get('PURGE_AFTER'))) c.purgeAfterMs = duration(v, 'PKIM_SPIFFE_PURGE_AFTER');
  if ((v = get('WARN_BEFORE'))) c.warnBeforeMs = duration(v, 'PKIM_SPIFFE_WARN_BEFORE');
  if ((v = get('EPHEMERAL'))) c.ephemeral = flag(v, 'PKIM_SPIFFE_EPHEMERAL');
  if (c.maxTtlMs > HARD_MAX_SVID_TTL_MS)
    throw new PkiError('input.invalid', 'PKIM_SPIFFE_MAX_TTL: SVID lifetimes are capped at 24h');
  if (c.maxTtlMs < 60_000) throw new PkiError('input.invalid', 'PKIM_SPIFFE_MAX_TTL: at least 1m');
  if (c.defaultTtlMs > c.maxTtlMs)
    throw new PkiError('input.invalid', 'PKIM_SPIFFE_SVID_TTL must not exceed PKIM_SPIFFE_MAX_TTL');
  if (c.keyTypes.length === 0) throw new PkiError('input.invalid', 'PKIM_SPIFFE_KEY_TYPES: at least one key type');
  return c;
}
