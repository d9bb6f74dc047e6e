// Audit forgery and tail truncation: what `audit.verify()` (and `pkim audit verify`) detects, and what it cannot —
// the guarantee stated in docs/security.md. Every attack is done the way an attacker with write access to the
// database (and nothing else) would: raw SQL on the SQLite file, never through the product.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { computeAuditHash } from '@pkim/shared';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { createRootCa } from '../../../tests/support/ca-kit';

const ADMIN: Actor = { id: 'usr_audit_admin', name: 'alice', role: 'admin' };

interface Row {
  seq: number;
  id: string;
  time: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'success' | 'failure';
  details: string;
  prev_hash: string;
  hash: string;
}

describe('audit chain: forgery and tail truncation', () => {
  let tmp: ReturnType<typeof tempDir>;
  let a: Authority;
  let db: Database.Database;
  const file = () => join(tmp.dir, 'audit-checkpoint.json');

  /** a few real events: a CA, certificates, a revocation */
  async function activity(n: number) {
    const ca = (await a.cas.list()).find((c) => c.name === 'audit-ca');
    const caId =
      ca?.id ?? (await createRootCa(a, 'audit-ca', { actor: ADMIN, subject: { commonName: 'Audit CA' } })).id;
    for (let i = 0; i < n; i++) {
      const c = await a.issuance.issueWithKey(
        {
          caId,
          profile: 'tls-server',
          subject: { commonName: `e${i}.audit.example` },
          sans: { dns: [`e${i}.audit.example`] },
          keyType: 'ec-p256',
        },
        ADMIN,
      );
      if (i % 2 === 0) await a.certificates.revoke(c.certificate.id, 'superseded', ADMIN);
    }
  }
  const rows = () => db.prepare('SELECT * FROM audit_events ORDER BY seq').all() as Row[];
  const deleteTail = (n: number) =>
    db.prepare('DELETE FROM audit_events WHERE seq > (SELECT MAX(seq) FROM audit_events) - ?').run(n);

  beforeEach(async () => {
    tmp = tempDir('pkim-audit-chain-');
    a = await createAuthority({ dataDir: tmp.dir, logger: pino({ level: 'silent' }) });
    await activity(4);
    db = new Database(join(tmp.dir, 'pkim.db'));
  });
  afterEach(async () => {
    db.close();
    await a.close();
    tmp.cleanup();
  });

  it('verifies an untouched chain and reports its signed checkpoint', async () => {
    expect(await a.audit.verify()).toMatchObject({ ok: true, checkpoint: null });
    const cp = await a.audit.checkpoint();
    const count = rows().length;
    expect(cp).toMatchObject({ seq: count, source: 'database' });
    expect(JSON.parse(readFileSync(file(), 'utf8'))).toMatchObject({ seq: count, hash: rows().at(-1)!.hash });
    await activity(1);
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: true, checkpoint: { seq: count } });
    expect(r.count).toBeGreaterThan(count);
  });

  it('forge one event: an edited event whose hash was recomputed breaks the link at the NEXT event', async () => {
    const all = rows();
    const victim = all[3]!;
    const details = { ...JSON.parse(victim.details), forged: true };
    const hash = computeAuditHash(victim.prev_hash, {
      seq: victim.seq,
      id: victim.id,
      time: victim.time,
      actor: 'mallory',
      action: victim.action,
      target: victim.target,
      outcome: victim.outcome,
      details,
    });
    db.prepare('UPDATE audit_events SET actor = ?, details = ?, hash = ? WHERE seq = ?').run(
      'mallory',
      JSON.stringify(details),
      hash,
      victim.seq,
    );
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: false, brokenAtSeq: victim.seq + 1, brokenEventId: all[4]!.id });
    expect(!r.ok && r.reason).toMatch(/prevHash does not match the hash of event/);
  });

  it('forge one event without recomputing: the event itself is named', async () => {
    const victim = rows()[2]!;
    db.prepare("UPDATE audit_events SET actor = 'mallory' WHERE seq = ?").run(victim.seq);
    expect(await a.audit.verify()).toMatchObject({ ok: false, brokenAtSeq: victim.seq, brokenEventId: victim.id });
  });

  it('delete the tail: detected by the signed checkpoint, with the number of events removed', async () => {
    await a.audit.checkpoint();
    const count = rows().length;
    deleteTail(3);
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: false, count: count - 3, brokenAtSeq: count - 2 });
    expect(!r.ok && r.reason).toMatch(
      new RegExp(
        `^tail truncated: the chain ends at event #${count - 3} ` +
          `but a signed checkpoint .* saw event #${count}: 3 event\\(s\\) removed`,
      ),
    );
    // a checkpoint never moves back over the evidence
    expect(await a.audit.checkpoint()).toBeUndefined();
    expect((await a.audit.verify()).ok).toBe(false);
  });

  it('delete the tail AND the checkpoint in the database: the copy beside the database still detects it', async () => {
    await a.audit.checkpoint();
    deleteTail(2);
    db.prepare("DELETE FROM settings WHERE key = 'audit.checkpoint'").run();
    const r = await a.audit.verify();
    expect(!r.ok && r.reason).toMatch(/^tail truncated: .*signed checkpoint \(file, .*2 event\(s\) removed/);
  });

  it('delete the tail and put back an OLDER valid checkpoint (database rollback): detected by the file', async () => {
    await a.audit.checkpoint();
    const old = db.prepare("SELECT value FROM settings WHERE key = 'audit.checkpoint'").get() as { value: string };
    const oldSeq = rows().length;
    await activity(2);
    await a.audit.checkpoint();
    deleteTail(rows().length - oldSeq);
    db.prepare("UPDATE settings SET value = ? WHERE key = 'audit.checkpoint'").run(old.value);
    expect(!(await a.audit.verify()).ok).toBe(true);
  });

  it('delete the tail and append new events (longer again): the rewrite is found at the checkpoint', async () => {
    await a.audit.checkpoint();
    const count = rows().length;
    deleteTail(4);
    await activity(3); // new, well-linked events take the removed sequence numbers
    expect(rows().length).toBeGreaterThanOrEqual(count);
    const r = await a.audit.verify();
    expect(r).toMatchObject({ ok: false, brokenAtSeq: count });
    expect(!r.ok && r.reason).toMatch(/^the chain was rewritten: event #\d+ no longer has the hash/);
  });

  it('a checkpoint forged without the master key is refused', async () => {
    await a.audit.checkpoint();
    const c = JSON.parse(readFileSync(file(), 'utf8'));
    deleteTail(2);
    const forged = { ...c, seq: c.seq - 2, hash: rows().at(-1)!.hash };
    db.prepare("UPDATE settings SET value = ? WHERE key = 'audit.checkpoint'").run(JSON.stringify(forged));
    writeFileSync(file(), JSON.stringify(forged));
    const r = await a.audit.verify();
    expect(!r.ok && r.reason).toMatch(/checkpoint in the database is not valid: its signature does not verify/);
  });

  it('the stated limit: tail, database checkpoint AND the file removed together are not detected', async () => {
    await a.audit.checkpoint();
    deleteTail(2);
    db.prepare("DELETE FROM settings WHERE key = 'audit.checkpoint'").run();
    rmSync(file());
    expect(await a.audit.verify()).toMatchObject({ ok: true, checkpoint: null });
  });

  it('events newer than the last checkpoint are not covered (the stated window)', async () => {
    await a.audit.checkpoint();
    const count = rows().length;
    await activity(1);
    deleteTail(rows().length - count);
    expect(await a.audit.verify()).toMatchObject({ ok: true, count, checkpoint: { seq: count } });
  });

  it('closing the authority leaves a checkpoint of the head; audit verify reports truncation in one line', async () => {
    await a.close();
    const count = rows().length;
    expect(JSON.parse(readFileSync(file(), 'utf8')).seq).toBe(count);
    const env = { PKIM_LOG_LEVEL: 'silent' };
    const ok = runPkim(['audit', 'verify'], { dataDir: tmp.dir, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`signed checkpoint: event #${count}`);
    deleteTail(2);
    const bad = runPkim(['audit', 'verify'], { dataDir: tmp.dir, env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(
      new RegExp(
        `^error: audit\\.chain_broken: audit chain broken at event #${count - 1} \\(\\(removed\\)\\): tail truncated`,
      ),
    );
    // re-anchoring is explicit (after a deliberate restore of an older backup)
    const re = runPkim(['audit', 'checkpoint', '--reanchor', '--json'], { dataDir: tmp.dir, env });
    expect(re.code, re.stderr).toBe(0);
    expect(re.json()).toMatchObject({ seq: count - 2, replaced: { seq: count } });
    a = await createAuthority({ dataDir: tmp.dir, logger: pino({ level: 'silent' }) });
    expect(await a.audit.verify()).toMatchObject({ ok: true, checkpoint: { seq: count - 2 } });
  }, 240_000);
});
