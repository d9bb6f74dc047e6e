import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { normalizeSerialHex } from '@pkim/core';

/**
 * Vault's weak parameter decoding (`framework.FieldSchema`): the CLI and cert-manager send every value as a
 * JSON string (`"true"`, `"2048"`, `"720h"`), hvac and node-vault send native JSON types. Each field is
 * coerced by its declared type; a value that does not fit is a 400 naming the field.
 */
export type VaultFieldType = 'string' | 'bool' | 'int' | 'duration' | 'list';

function bad(field: string, value: unknown, what: string): PkiError {
  const shown = typeof value === 'string' ? `"${value.slice(0, 64)}"` : JSON.stringify(value)?.slice(0, 64);
  return new PkiError('vault.invalid_parameter', `error converting input ${shown} for field "${field}": ${what}`, {
    details: { field },
  });
}

/** Go `strconv.ParseBool` plus JSON booleans and 0/1. */
export function parseVaultBool(field: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v === 'string') {
    if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  }
  throw bad(field, v, 'expected a boolean');
}

export function parseVaultInt(field: string, v: unknown): number {
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && Number.isSafeInteger(n)) return n;
  throw bad(field, v, 'expected an integer');
}

const GO_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * A Vault duration in whole seconds: integer seconds (`86400`, `"86400"`), a Go duration (`"720h"`, `"1h30m"`,
 * `"2160h0m0s"`), or whole days with a `d` suffix (`"30d"`; `"1d12h"` is invalid, as in Vault). "" and 0 = unset (0).
 */
export function parseVaultDuration(field: string, v: unknown): number {
  if (v === '' || v === null || v === undefined) return 0;
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return Math.floor(v);
    throw bad(field, v, 'expected a non-negative duration');
  }
  if (typeof v !== 'string') throw bad(field, v, 'expected a duration');
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const days = /^(\d+)d$/.exec(s);
  if (days) return Number(days[1]) * 86_400;
  if (!/^(\d+(\.\d+)?(ns|us|µs|μs|ms|s|m|h))+$/.test(s)) throw bad(field, v, 'invalid duration');
  let seconds = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g))
    seconds += Number(m[1]) * (GO_UNITS[m[2] ?? ''] ?? 0);
  return Math.floor(seconds);
}

/**
 * A Vault `not_after` (RFC 3339) as epoch ms, the time the certificate is to end exactly (OpenBao sets it as given,
 * not as a TTL); a text that is not a time, or a time not at least a second after `now` (ms), is a 400
 */
export function parseVaultNotAfter(notAfter: string, now: number): number {
  const t = Date.parse(notAfter);
  if (Number.isNaN(t)) throw new PkiError('vault.invalid_parameter', `not_after "${notAfter}" is not an RFC 3339 time`);
  if (t - now < 1000) throw new PkiError('vault.invalid_parameter', `not_after ${notAfter} is in the past`);
  return t;
}

/**
 * What a Vault request asks the pipeline for its certificate's end: the lifetime (ms) the channel's caps and
 * validators see, and with a `not_after` that exact time (`ProvisionerModifiers.notAfter`, read by the pipeline,
 * which ends the certificate there: a lifetime counted on this clock would end up to 1 s early on the pipeline's).
 * Longer than `maxTtl` (seconds): cut to it with OpenBao's warning, the exact time dropped.
 */
export function vaultLifetime(
  o: { ttl: number; notAfter: string; defaultTtl: number; maxTtl: number; explicit: boolean },
  now: number,
  warnings: string[],
): { lifetimeMs: number; notAfter?: number } {
  const notAfter = o.notAfter ? parseVaultNotAfter(o.notAfter, now) : undefined;
  const lifetimeMs = notAfter !== undefined ? notAfter - now : (o.ttl || o.defaultTtl) * 1000;
  if (lifetimeMs <= o.maxTtl * 1000) return { lifetimeMs, notAfter };
  if (o.explicit) {
    warnings.push(
      `TTL "${formatGoDuration(Math.floor(lifetimeMs / 1000))}" is longer than permitted maxTTL ` +
        `"${formatGoDuration(o.maxTtl)}", so maxTTL is being used`,
    );
  }
  return { lifetimeMs: o.maxTtl * 1000 };
}

/** TypeCommaStringSlice: a JSON array or a comma-separated string (trimmed, empties dropped). */
export function parseVaultList(field: string, v: unknown): string[] {
  if (v === null || v === undefined || v === '') return [];
  const parts = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',') : undefined;
  if (!parts) throw bad(field, v, 'expected a list or a comma-separated string');
  return parts
    .map((p) => {
      if (typeof p !== 'string' && typeof p !== 'number') throw bad(field, v, 'expected strings');
      return String(p).trim();
    })
    .filter((p) => p.length > 0);
}

export function parseVaultString(field: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw bad(field, v, 'expected a string');
}

export function coerceVaultField(type: VaultFieldType, field: string, v: unknown): unknown {
  switch (type) {
    case 'bool':
      return parseVaultBool(field, v);
    case 'int':
      return parseVaultInt(field, v);
    case 'duration':
      return parseVaultDuration(field, v);
    case 'list':
      return parseVaultList(field, v);
    case 'string':
      return parseVaultString(field, v);
  }
}

/** Go's `time.Duration.String()` for whole seconds: 259200 → "72h0m0s", 90 → "1m30s", 0 → "0s". */
export function formatGoDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Vault-style short form used in config endpoints: 259200 → "72h", 90 → "1m30s". */
export function formatShortDuration(seconds: number): string {
  return formatGoDuration(seconds)
    .replace(/(\D)0m0s$/, '$1')
    .replace(/(\D)0s$/, '$1');
}

/** `1a:2b:…`, `1a-2b-…`, `1A2B…` → lowercase colon-separated octets (Vault's serial format). */
export function toVaultSerial(hex: string): string {
  const flat = hex.toLowerCase().replace(/[^0-9a-f]/g, '');
  const even = flat.length % 2 ? `0${flat}` : flat;
  return even.match(/../g)?.join(':') ?? '';
}

/** Vault serial (any separator, any case) → the canonical lowercase hex PKI Manager stores; undefined if malformed. */
export function fromVaultSerial(serial: string): string | undefined {
  const s = serial.trim();
  if (!/^[0-9a-fA-F]{1,2}([:-]?[0-9a-fA-F]{1,2})*$/.test(s)) return undefined;
  return normalizeSerialHex(s);
}

/**
 * OpenBao's `signature_bits` (0: the key type's own hash) against what a PKI Manager key signs with: every key
 * backend (software, PKCS#11, KMIP) signs with the hash its key type prescribes (SHA-256 for RSA and P-256, SHA-384
 * for P-384), so any other value is refused (400) rather than ignored. Ed25519 has no hash to choose: the value is
 * ignored, as OpenBao ignores it. `what` names the key (`the issuer's`, `the new CA's`).
 */
export function checkSignatureBits(bits: number, keyType: KeyType, what: string): void {
  const hash = KEY_TYPE_INFO[keyType].hash;
  if (!bits || hash === null) return;
  const own = Number(hash.replace(/^sha/, ''));
  if (bits !== own) {
    throw new PkiError(
      'vault.invalid_parameter',
      `signature_bits ${bits} cannot be honoured: ${what} key (${keyType}) signs with SHA-${own} in PKI Manager ` +
        `(every key backend signs with its key type's hash); use 0 or ${own}`,
    );
  }
}

/** `signature_bits` of a request: 0 (auto) when absent, else 256, 384 or 512 as OpenBao accepts */
export function parseSignatureBits(params: Record<string, unknown>): number {
  const v = params.signature_bits;
  const bits = v === undefined || v === '' ? 0 : parseVaultInt('signature_bits', v);
  if (![0, 256, 384, 512].includes(bits)) {
    throw new PkiError('vault.invalid_parameter', `unsupported signature_bits ${bits} (0, 256, 384, 512)`);
  }
  return bits;
}
