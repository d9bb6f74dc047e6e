// Small helpers shared by the test suites.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { pino } from 'pino';
import { PkiError } from '@pkim/shared';

export const TEST_ADMIN = { id: 'usr_test_admin', name: 'alice', role: 'admin' as const };
export const silentLogger = pino({ level: 'silent' });

/** Awaits `p` and asserts it rejects with a PkiError of `code`; returns the error. */
export async function expectPkiError(p: Promise<unknown>, code: string): Promise<PkiError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(PkiError);
    expect((e as PkiError).code, (e as Error).message).toBe(code);
    return e as PkiError;
  }
  throw new Error(`expected PkiError ${code}, but the call succeeded`);
}

/** Polls `fn` until `ok` holds or `ms` elapse; returns the last value. */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every file below `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}
