// PKIM_WORKERS (issue #12): one worker thread per core from 3 cores; on 1–2 cores in-process (1), where two workers
// beside the main thread measured slower (docs/benchmarks.md, "Session 14: PKIM_WORKERS on 2 cores").
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultWorkers, parseWorkers, serverOptionsFromEnv } from '@pkim/server';

describe('PKIM_WORKERS default', () => {
  it('is in-process on 1 or 2 cores and one worker per core from 3 cores', () => {
    expect([1, 2, 3, 4, 16].map((cores) => defaultWorkers(cores))).toEqual([1, 1, 3, 4, 16]);
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
