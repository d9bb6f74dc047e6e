// The output contract's walk of every GET twin (docs/api-contract.md), half 1 of 2: the 1st, 3rd, 5th … twin of
// REST_TWINS (api-contract-reads-2.test.ts walks the others; one walk took ≈ 58 s alone on a loaded machine).
// The single operations are in api-contract.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractKit, walkEveryRead } from './api-contract-support';
import { contractViolations } from '../../../tests/support/output-contract';

// the walk spawns the CLI for every list: generous time on a loaded 2-core machine
describe('one output contract across CLI --json, REST and tRPC', { timeout: 180_000 }, () => {
  const kit = contractKit();
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it('every read (REST, tRPC, CLI --json): lists paged, times RFC 3339, lifetimes durations', async () => {
    await walkEveryRead(kit, 0);
    // the walk itself can fail: a bare array and an epoch-ms time are caught
    expect(contractViolations([{ createdAt: '2026-01-01T00:00:00.000Z' }])).toEqual([
      'a bare array, not { items, nextCursor }',
    ]);
    expect(contractViolations({ items: [{ lockedUntil: 1_790_000_000_000 }], nextCursor: null })).toEqual([
      '.items[].lockedUntil: a time as number',
    ]);
    expect(contractViolations({ maxTtlSeconds: 57_600, defaultLifetimeDays: 0.5, ttl: '16h' })).toEqual([
      '.maxTtlSeconds: a lifetime as number',
      '.defaultLifetimeDays: a lifetime as number',
    ]);
    expect(contractViolations({ generated: 1_790_000_000_000 })).toEqual(['.generated: epoch milliseconds']);
    expect(contractViolations({ policy: { max_ttl: 259_200, ttl: '1d' }, lifetimeMs: 86_400_000 })).toEqual([
      '.policy.max_ttl: a lifetime as number',
      '.lifetimeMs: a lifetime as number',
    ]);
    // an object with an `items` field among others is one object; `{ items }` alone is a list without its cursor
    expect(contractViolations({ id: 'job', state: 'succeeded', items: [] })).toEqual([]);
    expect(contractViolations({ items: [] })).toEqual(['page keys items', 'nextCursor not a string or null']);
  });
});
