// The output contract's walk of every GET twin (docs/api-contract.md), half 2 of 2: the 2nd, 4th, 6th … twin of
// REST_TWINS (api-contract-reads-1.test.ts walks the others; one walk took ≈ 58 s alone on a loaded machine).
// The single operations are in api-contract.test.ts.
import { afterAll, beforeAll, describe, it } from 'vitest';
import { contractKit, walkEveryRead } from './api-contract-support';

// the walk spawns the CLI for every list: generous time on a loaded 2-core machine
describe('one output contract across CLI --json, REST and tRPC', { timeout: 180_000 }, () => {
  const kit = contractKit();
  beforeAll(() => kit.open());
  afterAll(() => kit.close());

  it('every read (REST, tRPC, CLI --json): lists paged, times RFC 3339, lifetimes durations', async () => {
    await walkEveryRead(kit, 1);
  });
});
