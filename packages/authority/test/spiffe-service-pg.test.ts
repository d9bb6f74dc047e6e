// The SPIFFE service on PostgreSQL: an SVID of the old CA whose commit comes after rotate() returned (the SQLite twin
// is in spiffe-service.test.ts). The SVID's unit is written by the batch statement (pg-batch-commit.ts), which refuses
// it at its snapshot; the rotation's commits are general units of work, both under the audit-chain lock.
import { describe, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { TD } from '../../../tests/support/spiffe-kit';
import {
  heldSvidKeptByTheOldCa,
  heldSvidSignedAgainByTheNewCa,
  twoRotationsAnswerRetryable,
} from './fixtures/spiffe-rotation-race';

const hosts = postgresInstances();

async function spiffeOnPostgres(clock: ReturnType<typeof fixedClock>): Promise<{ a: Authority; token: string }> {
  const a = await hosts.open(await hosts.database(), { clock });
  await a.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
  const { token } = await a.auth.createToken(
    { name: 'workloads', role: 'operator', scopes: ['spiffe:sign'] },
    TEST_ADMIN,
  );
  return { a, token };
}

describe('an SVID of the old CA committed after the rotation returned (PostgreSQL)', () => {
  it('is refused by its commit (the old CA does not keep it) and signed again by the new CA', async () => {
    const clock = fixedClock(Date.now());
    const { a, token } = await spiffeOnPostgres(clock);
    await heldSvidSignedAgainByTheNewCa(a, token, clock);
  }, 120_000);

  it('is committed as signed when the old CA is kept beyond it', async () => {
    const clock = fixedClock(Date.now());
    const { a, token } = await spiffeOnPostgres(clock);
    await heldSvidKeptByTheOldCa(a, token, clock);
  }, 120_000);

  it('two rotations during one issuance: spiffe.ca_rotated (503, retryable), no SVID written', async () => {
    const { a, token } = await spiffeOnPostgres(fixedClock(Date.now()));
    await twoRotationsAnswerRetryable(a, token);
  }, 120_000);
});
