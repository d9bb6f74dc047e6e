// Deleting a CA with its key (`pkim ca delete --destroy-key`, DELETE /api/v1/cas/:id?destroyKey=true), on both
// engines: the row is committed away first, the key destroyed after. A commit that fails (the database refusing the
// delete) leaves the CA whole: its row, its key, a CRL it still signs. The audit says what happened: ca.deleted with
// the commit, then kms.key_destroyed only once the key is gone — or kms.key_destroy_failed with the reason when the
// backend refuses after the commit (the key is left in it).
import { describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';

/** a revoked root (deletable), its certificate */
async function revokedRoot(a: Authority, name: string) {
  const { ca, certificatePem } = await a.cas.create({ name, subject: `CN=${name}`, keyType: 'ec-p256' }, TEST_ADMIN);
  await a.cas.revokeCa(ca.id, 'cessationOfOperation', TEST_ADMIN);
  return { ca, certificatePem: certificatePem! };
}

/** the actions of the audit events after `seq` (oldest first), with their outcome and target */
async function eventsSince(a: Authority, seq: number) {
  const all = await a.audit.list({ limit: 50, order: 'desc' });
  return all
    .filter((e) => e.seq > seq)
    .reverse()
    .map((e) => ({ action: e.action, outcome: e.outcome, target: e.target, details: e.details }));
}
/** Drizzle's wrapper of a failed statement ("Failed query: <sql> params: <values>", "Failed to run the query …") */
const QUERY_TEXT = /Failed query|Failed to run the query|params:|delete from/i;
/** an error's message and its causes' messages, as a log line prints them */
function errorChainText(e: unknown): string {
  const parts: string[] = [];
  for (let cur = e, depth = 0; cur instanceof Error && depth < 8; cur = cur.cause, depth++) parts.push(cur.message);
  return parts.join(' | caused by: ');
}
const lastSeq = async (a: Authority) => (await a.audit.list({ limit: 1, order: 'desc' }))[0]?.seq ?? 0;

describe.each(ENGINES)('deleting a CA with its key on $name', (engine) => {
  const fx = authorityOnEngine(engine);

  it('a delete whose commit fails keeps the key and the CA; once the commit passes the key is gone', async () => {
    const a = fx.authority;
    const keys = internalsOf(a).keys;
    const { ca, certificatePem } = await revokedRoot(a, 'doomed');
    const seq = await lastSeq(a);
    const allow = await fx.refuseDeletes('certificate_authorities');
    try {
      const refusal = await a.cas.delete(ca.id, { destroyKey: true }, TEST_ADMIN).then(
        () => undefined,
        (e: unknown) => e,
      );
      // the database's reason, not Drizzle's wrapper (the statement, its parameters), in the error and its causes
      expect(errorChainText(refusal)).toMatch(/refused by the test/);
      expect(errorChainText(refusal)).not.toMatch(QUERY_TEXT);
      expect((await a.cas.get(ca.id)).ca.id).toBe(ca.id);
      expect((await keys.getPublicKey(ca.keyUri)).length).toBeGreaterThan(0);
      const crl = await a.crl.generate(ca.id, TEST_ADMIN);
      const v = opensslCrlVerify(crl.der, certificatePem);
      expect(v.ok, v.text).toBe(true);
    } finally {
      await allow();
    }
    const failed = await eventsSince(a, seq);
    expect(failed.map((e) => e.action)).not.toContain('kms.key_destroyed');
    expect(failed.map((e) => e.action)).toContain('ca.delete_failed');
    const refused = failed.find((e) => e.action === 'ca.delete_failed')!;
    expect(JSON.stringify(refused.details)).toMatch(/refused by the test/);
    expect(JSON.stringify(refused.details)).not.toMatch(QUERY_TEXT);
    const mid = await lastSeq(a);
    expect(await a.cas.delete(ca.id, { destroyKey: true }, TEST_ADMIN)).toEqual({ keyDestroyed: true });
    await expectPkiError(a.cas.get(ca.id), 'ca.not_found');
    await expectPkiError(keys.getPublicKey(ca.keyUri), 'kms.key_not_found');
    expect((await eventsSince(a, mid)).map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['ca.deleted', 'success', ca.id],
      ['kms.key_destroyed', 'success', ca.keyUri],
    ]);
    expect((await a.audit.verify()).ok).toBe(true);
  }, 60_000);

  it('a key the backend fails to destroy after the commit: CA deleted, key left, kms.key_destroy_failed', async () => {
    const a = fx.authority;
    const keys = internalsOf(a).keys;
    const { ca } = await revokedRoot(a, 'orphaned');
    const seq = await lastSeq(a);
    // the software backend keeps its keys in key_blobs: the database refuses to delete the blob, after the CA's commit
    const allow = await fx.refuseDeletes('key_blobs');
    try {
      expect(await a.cas.delete(ca.id, { destroyKey: true }, TEST_ADMIN)).toEqual({ keyDestroyed: false });
    } finally {
      await allow();
    }
    await expectPkiError(a.cas.get(ca.id), 'ca.not_found');
    expect((await keys.getPublicKey(ca.keyUri)).length).toBeGreaterThan(0); // the key is left in its backend
    const events = (await eventsSince(a, seq)).filter((e) => e.action !== 'kms.destroy_failed'); // the backend's own
    expect(events.map((e) => [e.action, e.outcome, e.target])).toEqual([
      ['ca.deleted', 'success', ca.id],
      ['kms.key_destroy_failed', 'failure', ca.keyUri],
    ]);
    expect(events[0]!.details).toMatchObject({ name: 'orphaned', destroyKey: true });
    expect(events[1]!.details).toMatchObject({ caId: ca.id, backend: 'software' });
    // the database's reason, not Drizzle's wrapper: no statement, no parameters (the key's id)
    expect(events[1]!.details.message).toMatch(/refused by the test/);
    expect(JSON.stringify(events[1]!.details)).not.toMatch(QUERY_TEXT);
    expect((await a.audit.verify()).ok).toBe(true);
    // without --destroy-key nothing is said about a key
    const { ca: kept } = await revokedRoot(a, 'kept-key');
    const before = await lastSeq(a);
    expect(await a.cas.delete(kept.id, {}, TEST_ADMIN)).toEqual({ keyDestroyed: false });
    expect((await eventsSince(a, before)).map((e) => e.action)).toEqual(['ca.deleted']);
  }, 60_000);

  it('a pending CA (a CSR, never imported) is deleted at once; a valid root is refused', async () => {
    const a = fx.authority;
    const { ca: pending } = await a.cas.createExternalIntermediate(
      { name: 'abandoned-csr', subject: 'CN=Abandoned CSR', keyType: 'ec-p256' },
      TEST_ADMIN,
    );
    expect(pending.status).toBe('pending');
    const { ca: root } = await a.cas.create(
      { name: 'live-root', subject: 'CN=Live Root', keyType: 'ec-p256' },
      TEST_ADMIN,
    );
    const refused = await expectPkiError(a.cas.delete(root.id, {}, TEST_ADMIN), 'ca.not_deletable');
    expect(refused.message).toMatch(/revoke it first/);
    const before = await lastSeq(a);
    expect(await a.cas.delete(pending.id, { destroyKey: true }, TEST_ADMIN)).toEqual({ keyDestroyed: true });
    expect((await eventsSince(a, before)).map((e) => e.action)).toEqual(['ca.deleted', 'kms.key_destroyed']);
    expect((await a.cas.list()).map((c) => c.id)).toEqual(expect.arrayContaining([root.id]));
    expect((await a.cas.list()).map((c) => c.id)).not.toContain(pending.id);
  }, 60_000);
});
