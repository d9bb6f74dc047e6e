import type { CaRow, CaStatus, CertificateRow, CertificateStatus } from '@pkim/store';

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

/**
 * A CA's status as a reader sees it at `now`: an active or disabled CA whose certificate's notAfter has passed is
 * `expired` at once (nothing marks CA rows: the stored status stays what it was), as a certificate's is
 * ({@link statusAt}); pending (no certificate yet) and revoked stay. Every CA view — list, detail, the dashboard's
 * counts, search — reads it here; issuance refuses a CA past its end itself (CaContextLoader.loadActive).
 */
export function caStatusAt(row: Pick<CaRow, 'status' | 'notAfter'>, now: number): CaStatus {
  return (row.status === 'active' || row.status === 'disabled') && row.notAfter !== null && row.notAfter <= now
    ? 'expired'
    : row.status;
}

/** the CA row as read at `now` ({@link caStatusAt}); the same object when nothing differs */
export function caAt<T extends CaRow>(row: T, now: number): T {
  const status = caStatusAt(row, now);
  return status === row.status ? row : { ...row, status };
}
