import { describe, expect, it } from 'vitest';
import { PkiError, toPkiError } from '../src/errors';

/** Drizzle 0.45's wrappers, as drizzle-orm/errors.js and the SQLite session build them (their messages) */
function queryError(cause?: unknown): Error {
  return new Error('Failed query: delete from "key_blobs" where "id" = $1\nparams: key_secret-id', { cause });
}
function sqliteRunError(cause?: unknown): Error {
  const e = new Error(`Failed to run the query 'delete from "key_blobs" where "id" = ?'`, { cause });
  e.name = 'DrizzleError';
  return e;
}

describe('toPkiError', () => {
  it("gives the database's error, not Drizzle's statement and parameters", () => {
    const driver = Object.assign(new Error('refused by the trigger'), { code: 'P0001' });
    for (const wrapped of [queryError(driver), sqliteRunError(driver), queryError(sqliteRunError(driver))]) {
      const e = toPkiError(wrapped);
      expect(e.code).toBe('internal.error');
      expect(e.message).toBe('refused by the trigger');
      expect(e.cause).toBe(driver);
    }
  });

  it('a wrapper around nothing or around a PkiError', () => {
    expect(toPkiError(queryError()).message).toBe('the database refused a statement');
    const guard = new PkiError('ca.not_found', 'No such CA');
    expect(toPkiError(queryError(guard))).toBe(guard);
  });

  it('other errors keep their message', () => {
    expect(toPkiError(new Error('Failed to connect')).message).toBe('Failed to connect');
    expect(toPkiError('plain').message).toBe('plain');
  });
});
