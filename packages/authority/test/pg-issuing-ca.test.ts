// Issuance on PostgreSQL by two authorities on one database (two processes' worth: each its own store and pool). An
// instance may sign with the issuing CA's row read a moment earlier (ca-context.ts, Store.checksIssuingCaAtCommit):
// a CA disabled or revoked by the other instance is still refused by the next request — by the commit, in its own
// transaction — and no certificate of it is written; an instance's own change of its CA reaches its next certificate
// at once (Store.caRowWrites).
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import type { Authority } from '@pkim/authority';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslVerify } from '../../../tests/support/verifiers';
import { TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';
import { changeSeenAtOnce, refusedAfterTheOtherChangesTheCa } from './fixtures/issuing-ca';

const hosts = postgresInstances();

describe('the issuing CA on PostgreSQL, two instances', () => {
  it('a CA disabled, then revoked, by the other instance is refused by the next request; nothing written', async () => {
    const [a, b] = await hosts.two();
    await refusedAfterTheOtherChangesTheCa(a, b, 'PG');
  }, 60_000);

  it("an instance's own change of its CA reaches its next certificate at once", async () => {
    const a = await hosts.open(await hosts.database());
    await changeSeenAtOnce(a, 'PG');
  }, 60_000);
});

// SVIDs on PostgreSQL, issued by two authorities on one database (two processes' worth: each its own store and pool).
// An SVID's commit (certificate, SVID row superseding its identity's current SVID, event) is written by the batch
// statement (packages/store/src/pg-batch-commit.ts) — one round trip, no transaction of its own — and the supersede
// runs after the audit-chain lock with a snapshot of its own (migration 0029), so renewals of one identity by both
// instances at once leave exactly one current SVID.
describe('SVIDs on PostgreSQL, two instances', () => {
  it('renewed by both instances at once: one current SVID per identity, each openssl-verified', async () => {
    const [a, b] = await hosts.two();
    await a.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
    const { token } = await a.auth.createToken(
      { name: 'workloads', role: 'operator', scopes: ['spiffe:sign'] },
      TEST_ADMIN,
    );
    const instances = ['i-1', 'i-2', 'i-3'];
    const sign = (x: Authority, instanceId: string) =>
      x.spiffe.sign(
        { csrPem: svidCsr(spiffeIdFor('auth', instanceId)).csrPem, serviceType: 'auth', instanceId },
        { bearerToken: token },
      );
    // what instance a sends for one SVID: the batch statement, no transaction of the general unit of work
    await sign(a, 'warm-up');
    const sent = vi.spyOn(pg.Client.prototype, 'query');
    try {
      await sign(a, 'warm-up');
      const texts = sent.mock.calls.map(([q]) => {
        const query = q as string | { name?: string; text?: string };
        return typeof query === 'string' ? query : (query.name ?? query.text ?? '');
      });
      expect(texts.filter((q) => /^begin/i.test(q))).toEqual([]);
      expect(texts.filter((q) => q.startsWith('pkim_commit_batch'))).toHaveLength(1);
    } finally {
      sent.mockRestore();
    }
    const issued = [];
    for (let round = 0; round < 3; round++)
      issued.push(...(await Promise.all(instances.flatMap((i) => [sign(a, i), sign(b, i)]))));
    const root = (await b.spiffe.bundle()).servicesBundle.at(-1)!;
    for (const r of issued) {
      const o = opensslVerify({ leafPem: r.certificatePem, chainPems: r.chain, rootPem: root, purpose: 'sslclient' });
      expect(o.ok, o.output).toBe(true);
    }
    for (const i of instances) {
      const listed = await b.spiffe.list({ spiffeId: spiffeIdFor('auth', i) }, TEST_ADMIN);
      expect(listed.items).toHaveLength(6);
      expect(listed.items.filter((s) => s.state === 'current')).toHaveLength(1);
      expect(listed.items.filter((s) => s.state === 'superseded')).toHaveLength(5);
    }
    expect(await b.audit.verify()).toMatchObject({ ok: true });
  }, 120_000);
});
