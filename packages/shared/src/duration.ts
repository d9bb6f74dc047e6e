import { PkiError } from './errors';

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Parses `90d`, `8760h`, `1y`, `30m`, `45s`, or a bare number of days. Returns milliseconds. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw new PkiError('input.invalid', `invalid duration: ${input}`);
    return input * UNITS.d;
  }
  const m = /^\s*(\d+)\s*([smhdwy]?)\s*$/i.exec(input);
  if (!m || Number(m[1]) <= 0) {
    throw new PkiError('input.invalid', `invalid duration '${input}' (use e.g. 90d, 8760h, 1y)`);
  }
  return Number(m[1]) * UNITS[(m[2] || 'd').toLowerCase()];
}

export function formatDuration(ms: number): string {
  if (ms % UNITS.d === 0) return `${ms / UNITS.d}d`;
  if (ms % UNITS.h === 0) return `${ms / UNITS.h}h`;
  return `${Math.round(ms / 1000)}s`;
}
