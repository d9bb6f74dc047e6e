import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import { type Actor, type Authority } from '@pkim/authority';
import { ENGINES } from '../../../tests/support/engines';
import { authorityOnEngine } from '../../../tests/support/authority-on-engine';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { expectPkiError } from '../../../tests/support/test-kit';
import { createRootCa } from '../../../tests/support/ca-kit';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 10, 12, 0, 0); // noon UTC: day buckets start at midnight

describe.each(ENGINES)('insights service (console read models) on $name', (engine) => {
  let authority: Authority;
  const clock = fixedClock(T0);
  const fx = authorityOnEngine(engine, { clock });
  let caId: string;
  const issued: Record<string, { id: string; serialHex: string; fingerprintSha256: string }> = {};

  async function issue(cn: string, dns: string[], days: number) {
    const r = await authority.issuance.issueWithKey(
      {
        caId,
        profile: 'tls-server',
        subject: { commonName: cn },
        sans: { dns },
        keyType: 'ec-p256',
        validityMs: days * DAY,
      },
      admin,
    );
    issued[cn] = r.certificate;
    return r.certificate;
  }

  beforeAll(async () => {
    authority = fx.authority;
    const root = await createRootCa(authority, 'insights-root', {
      actor: admin,
      verifyAt: T0,
      subject: 'CN=Insights Root CA,O=PKI Manager Tests',
      validityMs: 60 * DAY,
    });
    caId = root.id;
    await issue('a.example.com', ['a.example.com', 'shared.example.com'], 2); // expires in 2 days
    await issue('b.example.com', ['b.example.com', 'shared.example.com'], 2);
    await issue('c.example.org', ['c.example.org'], 20);
    await issue('d.example.org', ['d.example.org', 'shared.example.com'], 45);
    await issue('revoked.example.com', ['revoked.example.com'], 10);
    await authority.certificates.revoke(issued['revoked.example.com']!.id, 'keyCompromise', admin);
  });

  it('counts the expiry histogram per day from the counters of the store, zeros included', async () => {
    const t = await authority.insights.expiryTimeline({ days: 90 });
    expect(t.buckets).toHaveLength(90);
    expect(t.from).toBe(Date.UTC(2030, 0, 10));
    expect(t.bucketMs).toBe(DAY);
    const nonZero = t.buckets
      .filter((b) => b.count > 0)
      .map((b) => [new Date(b.start).toISOString().slice(0, 10), b.count]);
    // notAfter = T0 + n days (noon) → the bucket of that calendar day; the revoked one is not counted
    expect(nonZero).toEqual([
      ['2030-01-12', 2],
      ['2030-01-30', 1],
      ['2030-02-24', 1],
    ]);
    expect(t.total).toBe(4);
    const weekly = await authority.insights.expiryTimeline({ days: 28, bucketDays: 7 });
    expect(weekly.buckets.map((b) => b.count)).toEqual([2, 0, 1, 0]);
    await expectPkiError(authority.insights.expiryTimeline({ days: 10, bucketDays: 11 }), 'input.invalid');
  });

  it('summarises the dashboard: counts by status, expiry windows, expiring-soon list, warnings', async () => {
    const d = await authority.insights.dashboard();
    expect(d.certificates).toEqual({ active: 4, revoked: 1, expired: 0 });
    expect(d.cas.total).toBe(1);
    expect(d.cas.byStatus.active).toBe(1);
    expect(d.expiring).toEqual({ within7d: 2, within30d: 3, within90d: 4 });
    expect(d.expiringSoon.map((c) => c.commonName)).toEqual(['a.example.com', 'b.example.com', 'c.example.org']);
    expect(d.recentAudit[0]?.action).toBe('certificate.revoked');
    expect(d.health.ok).toBe(true);
    const codes = d.warnings.map((w) => w.code);
    expect(codes).toContain('certificate.expiring');
    // the root expires in 60 days: warned about, at level warning (critical under 30 days)
    expect(d.warnings.find((w) => w.code === 'ca.expiring')).toMatchObject({ level: 'warning', target: caId });
    const limited = await authority.insights.dashboard({ audit: false, certificates: false });
    expect(limited.recentAudit).toEqual([]);
    expect(limited.expiringSoon).toEqual([]);
    expect(limited.certificates.active).toBe(4);
  });

  it('warns of each active CA whose certificates carry no CRL or OCSP URL (ca.no_urls) in the API', async () => {
    const noUrls = async () => (await authority.insights.dashboard()).warnings.filter((w) => w.code === 'ca.no_urls');
    // no public URL and no URLs of its own: its certificates carry none
    expect(await noUrls()).toEqual([
      {
        level: 'warning',
        code: 'ca.no_urls',
        message:
          'Certificates of CA insights-root carry no CRL or OCSP URL: a revocation there reaches no relying party',
        target: caId,
      },
    ]);
    // its own URLs (a base): none warned of; an OCSP URL alone is enough; cleared again: warned of
    await authority.cas.setUrls(caId, { base: 'https://pki.example.com' }, admin);
    expect(await noUrls()).toEqual([]);
    const ocspOnly = { crlDistributionPoints: [], ocspUrls: ['https://ocsp.example.com'], caIssuersUrls: [] };
    await authority.cas.setUrls(caId, ocspOnly, admin);
    expect(await noUrls()).toEqual([]);
    await authority.cas.setUrls(caId, { clear: true }, admin);
    expect((await noUrls()).map((w) => w.target)).toEqual([caId]);
  });

  it("names each audit event's actor: a user's username (one read per page), null for another actor", async () => {
    const user = await authority.auth.createUser(
      { username: 'auditor-named', password: 'auditor-password-1', role: 'admin' },
      admin,
    );
    const named: Actor = { id: user.id, name: 'ignored', role: 'admin' };
    await authority.cas.setUrls(caId, { base: 'https://pki.example.com' }, named);
    await authority.cas.setUrls(caId, { clear: true }, named);
    const [latest, before] = await authority.audit.list({ limit: 2, order: 'desc' });
    expect(latest).toMatchObject({ actor: user.id, actorName: 'auditor-named' });
    expect(before).toMatchObject({ actor: user.id, actorName: 'auditor-named' });
    // an actor that is no user (here an id no user has) keeps its id, without a name
    const created = (await authority.audit.list({ action: 'user.created', limit: 1 }))[0];
    expect(created).toMatchObject({ actor: admin.id, actorName: null });
    expect((await authority.insights.dashboard()).recentAudit[0]).toMatchObject({ actorName: 'auditor-named' });
    // an API token by its name; the filter takes a username or a token's name (and an id, as before)
    const { id: tokenId } = await authority.auth.createToken({ name: 'token-named', role: 'operator' }, admin);
    await authority.audit.record({ actor: tokenId, action: 'test.by_token', target: null });
    const [byToken] = await authority.audit.list({ limit: 1, order: 'desc' });
    expect(byToken).toMatchObject({ actor: tokenId, actorName: 'token-named', action: 'test.by_token' });
    const actions = async (actor: string) =>
      (await authority.audit.list({ actor, order: 'desc' })).map((e) => `${e.action} ${e.actorName}`);
    expect(await actions('token-named')).toEqual(['test.by_token token-named']);
    expect(await actions(tokenId)).toEqual(['test.by_token token-named']);
    const theUsers = ['ca.urls_configured auditor-named', 'ca.urls_configured auditor-named'];
    expect(await actions('auditor-named')).toEqual(theUsers);
    expect(await actions(user.id)).toEqual(theUsers);
    expect(await actions('nobody-named')).toEqual([]);
  });

  it('lists the DNS names covered by active certificates with counts and expiry range, paged by name', async () => {
    const all = await authority.insights.domains({ limit: 100 });
    expect(all.items.map((n) => n.name)).toEqual([
      'a.example.com',
      'b.example.com',
      'c.example.org',
      'd.example.org',
      'shared.example.com',
    ]);
    const shared = all.items.find((n) => n.name === 'shared.example.com')!;
    expect(shared.certificates).toBe(3);
    expect(shared.firstNotAfter).toBe(T0 + 2 * DAY);
    expect(shared.lastNotAfter).toBe(T0 + 45 * DAY);
    const p1 = await authority.insights.domains({ limit: 2 });
    expect(p1.items.map((n) => n.name)).toEqual(['a.example.com', 'b.example.com']);
    const p2 = await authority.insights.domains({ limit: 2, cursor: p1.nextCursor });
    expect(p2.items.map((n) => n.name)).toEqual(['c.example.org', 'd.example.org']);
    const filtered = await authority.insights.domains({ search: 'EXAMPLE.ORG' });
    expect(filtered.items.map((n) => n.name)).toEqual(['c.example.org', 'd.example.org']);
    expect(filtered.nextCursor).toBeNull();
    // LIKE wildcards in the search are literal
    expect((await authority.insights.domains({ search: '%' })).items).toEqual([]);
  });

  it('finds certificates and CAs by CN, SAN, serial, fingerprint and id', async () => {
    const bySan = await authority.insights.search('shared.example');
    expect(bySan.certificates.map((c) => c.commonName).sort()).toEqual([
      'a.example.com',
      'b.example.com',
      'd.example.org',
    ]);
    const c = issued['c.example.org']!;
    const bySerial = await authority.insights.search(c.serialHex.replace(/(..)(?!$)/g, '$1:'));
    expect(bySerial.certificates[0]).toMatchObject({ id: c.id, match: 'serial' });
    const byFp = await authority.insights.search(c.fingerprintSha256.toUpperCase());
    expect(byFp.certificates[0]).toMatchObject({ id: c.id, match: 'fingerprint' });
    const byFpPrefix = await authority.insights.search(c.fingerprintSha256.slice(0, 10).toUpperCase());
    expect(byFpPrefix.certificates[0]).toMatchObject({ id: c.id, match: 'fingerprint' });
    expect((await authority.insights.search(c.id)).certificates[0]).toMatchObject({ id: c.id, match: 'id' });
    const byCa = await authority.insights.search('insights root');
    expect(byCa.cas).toEqual([expect.objectContaining({ id: caId, match: 'subject' })]);
    expect((await authority.insights.search('nothing-like-this')).certificates).toEqual([]);
  });

  it('sorts the certificate listing by expiry with a keyset cursor and searches SANs', async () => {
    const p1 = await authority.certificates.list({ sort: 'expiry_desc', limit: 2 });
    expect(p1.items.map((r) => r.commonName)).toEqual(['d.example.org', 'c.example.org']);
    const p2 = await authority.certificates.list({ sort: 'expiry_desc', limit: 2, cursor: p1.nextCursor });
    expect(p2.items.map((r) => r.commonName)).toEqual(['revoked.example.com', expect.stringMatching(/^[ab]\./)]);
    const asc = await authority.certificates.list({ sort: 'expiry_asc', status: 'active', limit: 10 });
    expect(asc.items.map((r) => r.notAfter)).toEqual([...asc.items.map((r) => r.notAfter)].sort((x, y) => x - y));
    const san = await authority.certificates.list({ search: 'shared.example.com' });
    expect(san.items).toHaveLength(3);
  });

  it('counts and lists as expiring only what has not reached its end: dashboard, statistics, list agree', async () => {
    // three days on, a and b (2 days) are past their end; the job has not marked them: still stored active
    clock.set(T0 + 3 * DAY);
    try {
      const now = clock.now();
      const d = await authority.insights.dashboard();
      expect(d.certificates).toEqual({ active: 2, revoked: 1, expired: 2 });
      expect(d.expiring).toEqual({ within7d: 0, within30d: 1, within90d: 2 });
      expect(d.expiringSoon.map((c) => c.commonName)).toEqual(['c.example.org']);
      expect(d.warnings.map((w) => w.code)).not.toContain('certificate.expiring');
      expect((await authority.statistics.dashboard()).expiring).toEqual({ within7d: 0, within30d: 1 });
      const within = async (days: number, actor?: Actor) =>
        (
          await authority.certificates.list({ expiringBefore: now + days * DAY, sort: 'expiry_asc', limit: 50 }, actor)
        ).items.map((c) => c.commonName);
      expect(await within(30)).toEqual(['c.example.org']);
      expect(await within(90)).toEqual(['c.example.org', 'd.example.org']);
      expect((await authority.certificates.expiringBefore(now + 30 * DAY)).map((c) => c.commonName)).toEqual([
        'c.example.org',
      ]);
      // a principal limited to the CA reads the same through the CA-scoped listing
      const scoped: Actor = { ...admin, id: 'usr_scoped', resources: { cas: [caId] } };
      expect(await within(30, scoped)).toEqual(['c.example.org']);
      expect((await authority.insights.dashboard(undefined, scoped)).expiringSoon.map((c) => c.commonName)).toEqual([
        'c.example.org',
      ]);
      // the past-end ones are where the status filter puts them
      const expired = await authority.certificates.list({ status: 'expired', limit: 50 });
      expect(expired.items.map((c) => c.commonName).sort()).toEqual(['a.example.com', 'b.example.com']);
    } finally {
      clock.set(T0);
    }
  });

  it('decodes a CSR (with proof of possession) and a certificate for the console previews', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=preview.example.com',
      sans: ['DNS:preview.example.com', 'IP:10.0.0.1'],
    });
    const d = authority.insights.decodeCsr(csrPem);
    expect(d.subjectDn).toBe('CN=preview.example.com');
    expect(d.sans).toEqual({ dns: ['preview.example.com'], ip: ['10.0.0.1'], uri: [], email: [] });
    expect(d.publicKeySha256).toMatch(/^[0-9a-f]{64}$/);
    expect(() =>
      authority.insights.decodeCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'),
    ).toThrow();
    const cert = await authority.certificates.get(issued['d.example.org']!.id);
    const dc = authority.insights.decodeCertificate(cert.certificatePem);
    expect(dc.serialHex).toBe(issued['d.example.org']!.serialHex);
    expect(dc.sans.dns).toEqual(['d.example.org', 'shared.example.com']);
    expect(dc.isCa).toBe(false);
    expect(dc.extKeyUsage).toContain('serverAuth');
  });
});
