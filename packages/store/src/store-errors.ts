import { PkiError, unwrapQueryError } from '@pkim/shared';

interface DriverErrorLike {
  message: string;
  code?: string; // SQLITE_CONSTRAINT_UNIQUE / PostgreSQL SQLSTATE
  constraint?: string; // pg
}

/** Drizzle wraps driver errors (DrizzleQueryError); walk the cause chain to the driver's error. */
export function driverError(e: unknown): DriverErrorLike | undefined {
  let cur: unknown = e;
  let found: DriverErrorLike | undefined;
  for (let depth = 0; cur instanceof Error && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') found = cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return found;
}

function isUniqueViolation(d: DriverErrorLike): boolean {
  return d.code === '23505' || d.code === 'SQLITE_CONSTRAINT_UNIQUE' || d.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Maps any failure inside a write transaction to a PkiError. PkiErrors thrown on purpose (guards)
 * pass through; unique violations with a domain meaning get their own code; everything else is
 * `store.write_failed` with the original error as cause.
 */
export function toWriteError(thrown: unknown, what = 'The database write failed'): PkiError {
  if (thrown instanceof PkiError) return thrown;
  // the driver's error, not Drizzle's wrapper: its message holds the statement and its parameters (row data), which
  // the cause chain would carry into the log line (pino prints causes)
  const e = unwrapQueryError(thrown);
  if (e instanceof PkiError) return e;
  const d = driverError(e);
  const original = d?.message ?? (e instanceof Error ? e.message : String(e));
  if (d && isUniqueViolation(d)) {
    const where = `${d.constraint ?? ''} ${d.message}`;
    if (/certificates_ca_serial_uq|certificates\.ca_id, certificates\.serial_hex/.test(where)) {
      return new PkiError(
        'certificate.serial_taken',
        'A certificate with this serial number already exists for the issuing CA; nothing was committed',
        { cause: e, details: { constraint: 'certificates(ca_id, serial_hex)' } },
      );
    }
    if (/certificate_authorities_name_uq|certificate_authorities\.name/.test(where)) {
      return new PkiError('ca.name_taken', 'A CA with this name already exists; nothing was committed', { cause: e });
    }
    return new PkiError('store.write_failed', `${what}: duplicate key (${original}); nothing was committed`, {
      cause: e,
      details: { driverCode: d.code, constraint: d.constraint },
    });
  }
  // Lost/refused connections are worth retrying; constraint and data errors are not.
  const connectionLost =
    !!d?.code &&
    (/^(08|57P0)/.test(d.code) || ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY'].includes(d.code));
  return new PkiError('store.write_failed', `${what}: ${original}; nothing was committed`, {
    cause: e,
    retryable: connectionLost,
    details: d ? { driverCode: d.code } : {},
  });
}
