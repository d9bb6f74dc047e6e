import type { CertificateRow, CertificateStatus } from '@pkim/store';

/**
 * The status a reader is shown at `now`: an active certificate whose notAfter has passed is `expired` at once, not
 * when the background job next marks the row (the job and the store's listing filter, `CertificateQuery.now`, use
 * the same `notAfter <= now`). The one place every read view of the authority (CLI, REST, tRPC, console, exports)
 * derives it; the stored row is left as it is.
 */
export function statusAt(row: Pick<CertificateRow, 'status' | 'notAfter'>, now: number): CertificateStatus {
  return row.status === 'active' && row.notAfter <= now ? 'expired' : row.status;
}

/** the row as read at `now` ({@link statusAt}); the same object when nothing differs */
export function certificateAt<T extends CertificateRow>(row: T, now: number): T {
  const status = statusAt(row, now);
  return status === row.status ? row : { ...row, status };
}
