// Small helpers shared by the test suites.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { pino } from 'pino';
import { PkiError } from '@pkim/shared';

export const TEST_ADMIN = { id: 'usr_test_admin', name: 'alice', role: 'admin' as const };
export const silentLogger = pino({ level: 'silent' });

/**
 * scrypt at N 1024 instead of the default 32768 (packages/authority's DEFAULT_SCRYPT_PARAMS) for test servers whose
 * subject is not the hash's cost: the same function, salts and verification at ≈ 1/32 of the CPU and memory (the
 * default took 0.8 s a hash at load 16). The tests of the hash itself keep the default.
 */
export const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };

/**
 * How long an in-process test server keeps an idle keep-alive socket: longer than any test. The test's fetch (undici)
 * and the server share one event loop, which the synchronous verifiers and key generators (openssl, certtool, Go
 * through spawnSync) block — seconds under load. With the server's 5 s, a pooled socket idle across such a block is
 * closed by the server's timer as the loop resumes, AFTER the test wrote its next request on it (neither side's timer
 * could run meanwhile): the request fails with ECONNRESET. Seen under load in vault-sign-intermediate (use_csr_values),
 * vault-role-fresh (an RSA CSR made just before the request), bulk-http; reproduced by blocking the loop 6 s.
 */
export const TEST_KEEP_ALIVE_MS = 10 * 60_000;

/**
 * The environment of a `pkim serve` child process a test talks to: its keep-alive as long as an in-process server's.
 * The server's own loop is not blocked, so at its 5 s default it closes an idle pooled socket on time — while the
 * test's loop is blocked by a spawnSync verifier or key generator and cannot see the close (undici's keep-alive clock
 * even counts loop ticks, not time). The test's next request, written as the loop resumes, meets a closed socket:
 * ECONNRESET (node-vault-compat: a request right after opensslVerify). tests/serve-keep-alive.test.ts shows it.
 */
export const TEST_SERVE_ENV: Readonly<Record<string, string>> = {
  PKIM_HTTP_KEEP_ALIVE_TIMEOUT_MS: String(TEST_KEEP_ALIVE_MS),
};

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
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
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
