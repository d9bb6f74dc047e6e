// PKIM_WORKERS (issue #12): one worker thread per core (1 core: in-process); on 2 cores the idle machine measured
// 2 workers even with in-process for CSR signing and ahead for Vault, SVIDs and OCSP with a nonce
// (docs/benchmarks-record.md).
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultWorkers, parseWorkers, serverOptionsFromEnv } from '@pkim/server';

describe('PKIM_WORKERS default', () => {
  it('is one worker per core (in-process on 1 core)', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultWorkers(cores))).toEqual([1, 2, 3, 4, 16]);
    expect(defaultWorkers()).toBe(defaultWorkers(availableParallelism()));
  });

  it('applies when PKIM_WORKERS is unset or blank; a value given wins; a bad value is refused', () => {
    expect(parseWorkers(undefined)).toBe(defaultWorkers());
    expect(parseWorkers(' ')).toBe(defaultWorkers());
    expect(serverOptionsFromEnv({}, {}).workers).toBe(defaultWorkers());
    expect(serverOptionsFromEnv({}, { PKIM_WORKERS: '2' }).workers).toBe(2);
    expect(serverOptionsFromEnv({ workers: 0 }, { PKIM_WORKERS: '2' }).workers).toBe(0);
    expect(() => parseWorkers('two')).toThrow(/invalid PKIM_WORKERS 'two'/);
    expect(() => parseWorkers('257')).toThrow(/0 to 256/);
  });
});
