import { PkiError } from './errors';

const UNITS = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
} as const;
type Unit = keyof typeof UNITS;

/**
 * The longest duration any input may name (a certificate lifetime, a token expiry, a TTL): 100 years
 * (36,500 days). Profiles, provisioners and the issuer's own notAfter cap certificates further.
 */
export const MAX_DURATION_MS = 36_500 * UNITS.d;
/** The latest time PKI Manager stores or encodes: 9999-12-31T23:59:59Z (X.509 GeneralizedTime's limit). */
export const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * Checks a duration in milliseconds before it reaches `Date` or the database: a positive integer of at
 * most {@link MAX_DURATION_MS}. Throws `input.invalid` naming `what`.
 */
export function checkDurationMs(ms: unknown, what = 'duration'): number {
  if (typeof ms === 'number' && ms > MAX_DURATION_MS) {
    throw new PkiError('input.invalid', `${what} exceeds the maximum of 36500d (100 years)`, {
      details: { maxMs: MAX_DURATION_MS },
    });
  }
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new PkiError('input.invalid', `${what} must be a positive whole number of milliseconds, got ${String(ms)}`);
  }
  return ms;
}

/** Checks a point in time (epoch ms) before it is stored: an integer between 1970 and 9999-12-31. */
export function checkTimestampMs(t: unknown, what = 'time'): number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t > MAX_TIMESTAMP_MS) {
    throw new PkiError('input.invalid', `${what} is outside 1970-01-01 … 9999-12-31: ${String(t)}`);
  }
  return t;
}

/**
 * Parses `90d`, `8760h`, `1y`, `30m`, `45s`, or a bare number of days. Returns milliseconds, at most
 * {@link MAX_DURATION_MS} (100 years).
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw new PkiError('input.invalid', `invalid duration: ${input}`);
    return checkDurationMs(Math.round(input * UNITS.d), 'duration');
  }
  const m = /^\s*(\d{1,12})\s*([smhdwy]?)\s*$/i.exec(input);
  if (!m || Number(m[1]) <= 0) {
    throw new PkiError(
      'input.invalid',
      `invalid duration '${String(input).slice(0, 40)}' (use e.g. 90d, 8760h, 1y; at most 36500d)`,
    );
  }
  return checkDurationMs(
    Number(m[1]) * UNITS[((m[2] ?? '') || 'd').toLowerCase() as Unit],
    `duration '${input.trim()}'`,
  );
}

/**
 * A lifetime as people write it: the largest of days, hours, minutes and seconds that divides it exactly (`90d`, not
 * `2160h`; `36h`; `90m`; `86401s`), so a lifetime given as `90d` or `12h` is reported the way it was given.
 * `toleranceMs`: a remainder up to this much is ignored (a validity period includes the minute notBefore is
 * backdated by: 500 days and 60 s is reported as `500d`).
 */
export function formatDuration(ms: number, toleranceMs = 0): string {
  for (const unit of ['d', 'h', 'm'] as const) {
    const n = Math.round(ms / UNITS[unit]);
    if (n > 0 && Math.abs(ms - n * UNITS[unit]) <= toleranceMs) return `${n}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/**
 * A lifetime in a message (a lifetime refused by a profile or a channel): whole years first — 365 days, the year
 * `parseDuration` reads in `30y` — then as {@link formatDuration}, so `--ttl 30y` is reported as `30y`, not `10950d`,
 * and a profile maximum of 9125 days as `25y`; `398d` and `36h` stay as they are.
 */
export function formatLifetime(ms: number, toleranceMs = 0): string {
  const years = Math.round(ms / UNITS.y);
  if (years > 0 && Math.abs(ms - years * UNITS.y) <= toleranceMs) return `${years}y`;
  return formatDuration(ms, toleranceMs);
}
