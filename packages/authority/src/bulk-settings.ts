import { PkiError, parseDuration } from '@pkim/shared';

/**
 * Limits of bulk CSV batches and the keeping of API jobs (settings table: PKIM_BULK_*). Loaded with the authority:
 * imports nothing of the bulk services, which load on first use.
 */
export interface BulkSettings {
  /** most data rows of one CSV batch, for the CLI and the API alike (`bulk.too_many_rows` above it) */
  maxRows: number;
  /** a finished API job (state, results, files) is deleted this long after it ended */
  jobRetentionMs: number;
}

export const DEFAULT_BULK_SETTINGS: BulkSettings = { maxRows: 2000, jobRetentionMs: 24 * 3_600_000 };
/** an all-or-nothing batch commits every row in one transaction: the setting cannot go above this */
export const HARD_MAX_BULK_ROWS = 100_000;

/** `PKIM_BULK_MAX_ROWS`, `PKIM_BULK_JOB_RETENTION` over `given` over the defaults; `input.invalid` names the bad one */
export function bulkSettingsFromEnv(
  env: Record<string, string | undefined>,
  given: Partial<BulkSettings> = {},
): BulkSettings {
  const s: BulkSettings = { ...DEFAULT_BULK_SETTINGS, ...given };
  const rows = env.PKIM_BULK_MAX_ROWS?.trim();
  if (rows) {
    if (!/^\d{1,9}$/.test(rows) || Number(rows) < 1 || Number(rows) > HARD_MAX_BULK_ROWS) {
      throw new PkiError('input.invalid', `PKIM_BULK_MAX_ROWS must be a whole number from 1 to ${HARD_MAX_BULK_ROWS}`);
    }
    s.maxRows = Number(rows);
  }
  const retention = durationSettingMs(env, 'PKIM_BULK_JOB_RETENTION', 60_000, 90 * 86_400_000, '1m to 90d');
  if (retention !== undefined) s.jobRetentionMs = retention;
  return s;
}

/**
 * A duration setting (`24h`, `7d`) in ms, undefined when unset; `input.invalid` naming the setting when it is no
 * duration or outside `[minMs, maxMs]` (`range` says it in words: `1m to 90d`)
 */
export function durationSettingMs(
  env: Record<string, string | undefined>,
  name: string,
  minMs: number,
  maxMs: number,
  range: string,
): number | undefined {
  const v = env[name]?.trim();
  if (!v) return undefined;
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch {
    throw new PkiError('input.invalid', `${name}: invalid duration '${v}' (e.g. 1h, 24h, 7d)`);
  }
  if (ms < minMs || ms > maxMs) throw new PkiError('input.invalid', `${name} must be from ${range}`);
  return ms;
}
