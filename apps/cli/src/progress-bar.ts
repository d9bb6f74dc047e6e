import type { CliWriter } from './cli-io';

/** What one progress line shows: `issue [#########-----------] 312/500  62%  41.3/s  ETA 5s`. */
export function renderProgress(p: {
  label: string;
  done: number;
  total: number;
  elapsedMs: number;
  width?: number;
}): string {
  const width = p.width ?? 24;
  const ratio = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(ratio * width);
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const eta = rate > 0 ? Math.ceil((p.total - p.done) / rate) : undefined;
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return (
    `${p.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${pct} ` +
    `${rate.toFixed(1)}/s ETA ${eta === undefined ? '?' : formatSeconds(eta)}`
  );
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressBar {
  update(label: string, done: number, total: number): void;
  /** clears the line (the result is printed after it) */
  finish(): void;
}

/**
 * A progress bar on stderr for batches, redrawn in place at most every 100 ms. It shows only on a terminal,
 * never with --json, and only once a phase has run for `delayMs` (short batches stay quiet).
 */
export function createProgressBar(o: {
  enabled: boolean;
  stream?: CliWriter;
  delayMs?: number;
  now?: () => number;
}): ProgressBar {
  const stream = o.stream ?? process.stderr;
  const now = o.now ?? Date.now;
  const delayMs = o.delayMs ?? 2000;
  const active = o.enabled && !!stream.isTTY;
  let phase: string | undefined;
  let started = 0;
  let drawnAt = 0;
  let shown = false;
  return {
    update(label, done, total) {
      if (!active) return;
      const t = now();
      if (label !== phase) {
        phase = label;
        started = t;
      }
      if (t - started < delayMs || (t - drawnAt < 100 && done < total)) return;
      drawnAt = t;
      shown = true;
      const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 50));
      stream.write(`\r\x1b[2K${renderProgress({ label, done, total, elapsedMs: t - started, width })}`);
    },
    finish() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
