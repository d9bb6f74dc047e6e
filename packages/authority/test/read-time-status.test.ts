// A certificate past its notAfter reads as `expired` at once — `certificates.get`, `certificates.list` (rows and the
// status filter), `expiringBefore`, the console's search and the inventory report — before the background job marks
// the row, on SQLite and PostgreSQL; after the job the answers are the same. So does a CA past its end (active or
// disabled; nothing marks CA rows): `cas.list`, `cas.get`, the console's search, and the dashboards' counts agree with
// the lists at the same instant; it issues nothing (`ca.not_active`, "expired at"), and is not enabled again. openssl
// agrees on each certificate's validity at the clock's time (-attime): the one past its end fails as expired, the
// others verify.
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { type Actor, type Authority } from '@pkim/authority';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { opensslVerify } from '../../../tests/support/verifiers';
import { createRootCa, type TestCa } from '../../../tests/support/ca-kit';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 10, 12, 0, 0);

describe.each(ENGINES)('statuses as read now on $name', (engine) => {
  let authority: Authority;
  let root: TestCa;
  const clock = fixedClock(T0);
  const fx = authorityOnEngine(engine, { clock });
  const leaves: Record<'short' | 'long' | 'revoked', { id: string; pem: string }> = {} as never;
  const cas: Record<'root' | 'shortLived' | 'disabled', string> = {} as never;

  beforeAll(async () => {
    authority = fx.authority;
    root = await createRootCa(authority, 'status-root', { actor: admin, verifyAt: T0, validityMs: 60 * DAY });
    for (const [name, days] of [
      ['short', 1],
      ['long', 10],
      ['revoked', 1],
    ] as const) {
      const r = await authority.issuance.issueWithKey(
        {
          caId: root.id,
          profile: 'tls-server',
          subject: { commonName: `${name}.example.com` },
          sans: { dns: [`${name}.example.com`] },
          keyType: 'ec-p256',
          validityMs: days * DAY,
        },
        admin,
      );
      leaves[name] = { id: r.certificate.id, pem: r.certificatePem };
    }
    await authority.certificates.revoke(leaves.revoked.id, 'superseded', admin);
    cas.root = root.id;
    cas.shortLived = (
      await createRootCa(authority, 'status-short-ca', { actor: admin, verifyAt: T0, validityMs: DAY })
    ).id;
    cas.disabled = (await createRootCa(authority, 'status-off-ca', { actor: admin, verifyAt: T0, validityMs: DAY })).id;
    await authority.cas.setStatus(cas.disabled, 'disabled', admin);
    clock.advance(2 * DAY); // `short` (and the revoked one) are past their end; no job ran
  });

  const ids = async (status?: 'active' | 'expired' | 'revoked') =>
    (await authority.certificates.list({ caId: root.id, status }, admin)).items.map((c) => [c.id, c.status]).sort();

  async function expectExpiredRead(): Promise<void> {
    expect((await authority.certificates.get(leaves.short.id, admin)).certificate.status).toBe('expired');
    expect((await authority.certificates.get(leaves.long.id, admin)).certificate.status).toBe('active');
    expect((await authority.certificates.get(leaves.revoked.id, admin)).certificate.status).toBe('revoked');
    expect(await ids('expired')).toEqual([[leaves.short.id, 'expired']]);
    expect(await ids('active')).toEqual([[leaves.long.id, 'active']]);
    expect(await ids('revoked')).toEqual([[leaves.revoked.id, 'revoked']]);
    expect(await ids()).toEqual(
      [
        [leaves.short.id, 'expired'],
        [leaves.long.id, 'active'],
        [leaves.revoked.id, 'revoked'],
      ].sort(),
    );
    const expiring = await authority.certificates.expiringBefore(clock.now() + 30 * DAY, 10, admin);
    expect(expiring.find((c) => c.id === leaves.short.id)?.status ?? 'expired').toBe('expired');
    const found = await authority.insights.search('short.example.com', 10, admin);
    expect(found.certificates.map((c) => [c.id, c.status])).toEqual([[leaves.short.id, 'expired']]);
    for (const status of ['expired', 'active'] as const) {
      const report = await authority.inventory.report({ caId: root.id, status }, 'json', admin);
      let body = '';
      for await (const chunk of report.body) body += chunk;
      const rows = (JSON.parse(body) as { id: string; status: string }[]).map((r) => [r.id, r.status]);
      expect(rows, status).toEqual([[status === 'expired' ? leaves.short.id : leaves.long.id, status]]);
    }
  }

  it('reads an active row past its notAfter as expired, and the status filters agree', async () => {
    await expectExpiredRead();
  });

  async function expectCaStatusRead(): Promise<void> {
    const want = { [cas.root]: 'active', [cas.shortLived]: 'expired', [cas.disabled]: 'expired' };
    expect(Object.fromEntries((await authority.cas.list()).map((c) => [c.id, c.status]))).toEqual(want);
    for (const [id, status] of Object.entries(want)) expect((await authority.cas.get(id)).ca.status).toBe(status);
    const found = await authority.insights.search('status-short-ca', 10, admin);
    expect(found.cas.map((c) => [c.id, c.status])).toEqual([[cas.shortLived, 'expired']]);
    // the dashboards count what the lists show at the same instant
    const d = await authority.insights.dashboard();
    expect(d.cas.byStatus).toMatchObject({ active: 1, expired: 2, disabled: 0 });
    const listed = async (status: 'active' | 'expired' | 'revoked') =>
      (await authority.certificates.list({ status, limit: 100 }, admin)).items.length;
    const counted = {
      active: await listed('active'),
      expired: await listed('expired'),
      revoked: await listed('revoked'),
    };
    expect(counted).toEqual({ active: 1, expired: 1, revoked: 1 });
    expect(d.certificates).toEqual(counted);
    const s = await authority.statistics.dashboard();
    expect(s.cas).toEqual({ total: 3, active: 1 });
    expect(s.certificates).toEqual(counted);
  }

  it('reads a CA past its end as expired: lists, detail, search and dashboard counts agree', async () => {
    await expectCaStatusRead();
  });

  it('refuses to issue from a CA past its end, or to enable it again, and changes nothing', async () => {
    const before = (await authority.certificates.list({ limit: 100 }, admin)).items.length;
    const issue = authority.issuance.issueWithKey(
      {
        caId: cas.shortLived,
        profile: 'tls-server',
        subject: { commonName: 'late.example.com' },
        sans: { dns: ['late.example.com'] },
        keyType: 'ec-p256',
        validityMs: DAY,
      },
      admin,
    );
    await expect(issue).rejects.toMatchObject({ code: 'ca.not_active', message: expect.stringMatching(/expired at/) });
    await expect(authority.cas.setStatus(cas.disabled, 'active', admin)).rejects.toMatchObject({
      code: 'ca.not_active',
      message: expect.stringMatching(/is expired; only active\/disabled CAs can be switched/),
    });
    expect((await authority.certificates.list({ limit: 100 }, admin)).items).toHaveLength(before);
    expect((await authority.cas.get(cas.disabled)).ca.status).toBe('expired');
  });

  it('openssl agrees at the same time: the short one has expired, the long one verifies', () => {
    const at = Math.floor(clock.now() / 1000);
    const short = opensslVerify({ leafPem: leaves.short.pem, rootPem: root.pem, atTime: at });
    expect(short.ok).toBe(false);
    expect(short.output).toMatch(/certificate has expired/);
    const long = opensslVerify({ leafPem: leaves.long.pem, rootPem: root.pem, atTime: at, purpose: 'sslserver' });
    expect(long.ok, long.output).toBe(true);
  });

  it('the background job then marks the row: the same answers', async () => {
    expect(await authority.maintenance.markExpired()).toBeGreaterThanOrEqual(1);
    await expectExpiredRead();
    await expectCaStatusRead();
  });
});
