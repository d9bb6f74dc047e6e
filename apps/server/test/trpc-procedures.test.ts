import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACTORS,
  callerFor,
  openAuthorityFixture,
  pkiCodeOf,
  trpcError,
  type AuthorityFixture,
} from './server-test-support';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe('tRPC procedures against a real authority', () => {
  let fx: AuthorityFixture;
  let rootId: string;
  let rootPem: string;
  let intId: string;
  let intPem: string;
  const admin = () => callerFor(fx.authority, ACTORS.admin);

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const root = await admin().ca.create({
      name: 'proc-root',
      subject: { commonName: 'Proc Root CA', organization: 'Example', country: 'DE' },
      keyType: 'ECDSA-P384',
    });
    const int = await admin().ca.create({
      name: 'proc-issuing',
      subject: { commonName: 'Proc Issuing CA', country: 'DE' },
      keyType: 'ECDSA-P256',
      parentId: root.id,
      pathLen: 0,
      nameConstraints: { permittedDns: ['.example.test', 'example.test'] },
      validityDays: 1825,
    });
    rootId = root.id;
    rootPem = root.certificatePem!;
    intId = int.id;
    intPem = int.certificatePem!;
  });
  afterAll(async () => fx?.close());

  it('ca: lists, gets by id and by name, exports the chain, disables and re-enables', async () => {
    const list = (await admin().ca.list()).items;
    expect(list.map((c) => c.name)).toEqual(['proc-root', 'proc-issuing']);
    expect(list[0]).not.toHaveProperty('certificatePem'); // metadata only
    const byName = await admin().ca.get({ ref: 'proc-issuing' });
    expect(byName.id).toBe(intId);
    expect(byName.nameConstraints?.permittedDns).toEqual(['.example.test', 'example.test']);
    const chain = await admin().ca.exportChain({ ref: intId });
    expect(chain.chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(opensslVerify({ leafPem: intPem, rootPem, purpose: 'any' }).ok).toBe(true);
    expect((await admin().ca.setStatus({ id: intId, status: 'disabled' })).status).toBe('disabled');
    expect(
      pkiCodeOf(
        await trpcError(
          callerFor(fx.authority, ACTORS.operator).certificate.issueWithKey({
            ca: intId,
            profile: 'tls-server',
            subject: { commonName: 'x.example.test' },
            sans: { dns: ['x.example.test'] },
            keyType: 'ECDSA-P256',
          }),
        ),
      ),
    ).toBe('ca.not_active');
    expect((await admin().ca.setStatus({ id: intId, status: 'active' })).status).toBe('active');
  });

  it('certificate: issues from an openssl CSR and with a server key; lists, gets, revokes, expiring', async () => {
    const op = callerFor(fx.authority, ACTORS.operator);
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=api.example.test',
      sans: ['DNS:api.example.test'],
    });
    const issued = await op.certificate.issue({
      ca: 'proc-issuing',
      csr: csrPem,
      profile: 'tls-server',
      ttl: '10d',
    });
    expect(issued.issuedBy).toBe(ACTORS.operator.id);
    expect(
      opensslVerify({
        leafPem: issued.certificatePem,
        chainPems: [intPem],
        rootPem,
        purpose: 'sslserver',
        hostname: 'api.example.test',
      }).ok,
    ).toBe(true);

    const withKey = await op.certificate.issueWithKey({
      ca: intId,
      profile: 'tls-client',
      subject: { commonName: 'client.example.test' },
      sans: { dns: ['client.example.test'] },
      keyType: 'ECDSA-P256',
      ttl: '60d',
    });
    expect(withKey.privateKeyPem).toMatch(/PRIVATE KEY/);
    expect(
      opensslVerify({ leafPem: withKey.certificatePem, chainPems: [intPem], rootPem, purpose: 'sslclient' }).ok,
    ).toBe(true);

    const outside = await trpcError(
      op.certificate.issue({
        ca: intId,
        csr: opensslCsr({ keyType: 'ec-p256', subject: '/CN=evil.test', sans: ['DNS:evil.test'] }).csrPem,
        profile: 'tls-server',
      }),
    );
    expect(outside.code).toBe('UNPROCESSABLE_CONTENT');

    const page = await op.certificate.list({ ca: 'proc-issuing', limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.nextCursor).not.toBeNull();
    const page2 = await op.certificate.list({ ca: intId, limit: 1, cursor: page.nextCursor });
    expect(page2.items[0]!.id).not.toBe(page.items[0]!.id);
    expect((await op.certificate.list({ search: 'client.example' })).items.map((c) => c.id)).toEqual([withKey.id]);

    const got = await op.certificate.get({ ref: issued.serial });
    expect(got.id).toBe(issued.id);
    expect(got.certificatePem).toBe(issued.certificatePem);

    const expiring = await op.certificate.expiring({ withinDays: 30, limit: 10 });
    expect(expiring.items.map((c) => c.id)).toContain(issued.id);
    expect(expiring.items.map((c) => c.id)).not.toContain(withKey.id);
    // a page of the expiring list says when there is more, and its cursor gives the rest, soonest first
    const all = await op.certificate.expiring({ withinDays: 3650, limit: 1000 });
    expect(all.items.length).toBeGreaterThanOrEqual(2);
    expect(all.nextCursor).toBeNull();
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const p: Awaited<ReturnType<typeof op.certificate.expiring>> = await op.certificate.expiring({
        withinDays: 3650,
        limit: 1,
        cursor,
      });
      expect(p.items.length).toBeLessThanOrEqual(1);
      paged.push(...p.items.map((c) => c.id));
      cursor = p.nextCursor;
    } while (cursor !== null && paged.length <= all.items.length);
    expect(paged).toEqual(all.items.map((c) => c.id));
    const ends = all.items.map((c) => Date.parse(c.notAfter));
    expect(ends).toEqual([...ends].sort((a, b) => a - b));

    const revoked = await op.certificate.revoke({ ref: issued.id, reason: 'keyCompromise' });
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const again = await trpcError(op.certificate.revoke({ ref: issued.id, reason: 'keyCompromise' }));
    expect(again.code).toBe('CONFLICT');
    expect((await op.certificate.list({ status: 'revoked' })).items.map((c) => c.id)).toEqual([issued.id]);
  });

  it('request: a requester submits and sees only their own; an operator approves one and rejects another', async () => {
    const rita = callerFor(fx.authority, ACTORS.requester);
    const other = callerFor(fx.authority, { id: 'usr_other', name: 'otto', role: 'requester' });
    const a = await rita.request.submit({
      ca: 'proc-issuing',
      csr: opensslCsr({ keyType: 'ec-p256', subject: '/CN=a.example.test', sans: ['DNS:a.example.test'] }).csrPem,
      profile: 'tls-server',
    });
    const b = await rita.request.submit({
      ca: intId,
      csr: opensslCsr({ keyType: 'ec-p256', subject: '/CN=b.example.test', sans: ['DNS:b.example.test'] }).csrPem,
      profile: 'tls-server',
      ttl: '5d',
    });
    expect(a.status).toBe('pending');
    expect((await rita.request.list()).items.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect((await other.request.list()).items).toHaveLength(0);
    expect((await trpcError(other.request.get({ id: a.id }))).code).toMatch(/NOT_FOUND|FORBIDDEN/);
    expect((await rita.request.get({ id: a.id })).id).toBe(a.id);

    const op = callerFor(fx.authority, ACTORS.operator);
    expect((await op.request.list({ status: 'pending' })).items.length).toBe(2);
    const approved = await op.request.approve({ id: a.id });
    expect(approved.request.status).toBe('issued');
    expect(
      opensslVerify({
        leafPem: approved.certificate.certificatePem,
        chainPems: [intPem],
        rootPem,
        purpose: 'sslserver',
      }).ok,
    ).toBe(true);
    const rejected = await op.request.reject({ id: b.id, reason: 'not needed' });
    expect(rejected).toMatchObject({ status: 'rejected', reason: 'not needed', reviewer: ACTORS.operator.id });
    expect((await trpcError(op.request.approve({ id: b.id }))).code).toBe('CONFLICT');
  });

  it('audit: lists events newest first with filters and verifies the hash chain', async () => {
    const auditor = callerFor(fx.authority, ACTORS.auditor);
    const events = await auditor.audit.list({ action: 'ca.created', limit: 10 });
    expect(events.items.map((e) => e.target)).toEqual([intId, rootId]);
    expect(events.nextCursor).toBeNull();
    // a full page names the next one: the keyset cursor continues with the older event
    const first = await auditor.audit.list({ action: 'ca.created', limit: 1 });
    expect(first.items.map((e) => e.target)).toEqual([intId]);
    const second = await auditor.audit.list({ action: 'ca.created', limit: 1, cursor: first.nextCursor });
    expect(second.items.map((e) => e.target)).toEqual([rootId]);
    expect(await auditor.audit.verify()).toMatchObject({ ok: true });
  });

  it('user and token: create, list, set role, disable, change password, me; tokens are shown once', async () => {
    const created = await admin().user.create({ username: 'paula', password: 'paula-password-1', role: 'requester' });
    expect((await admin().user.list()).items.map((u) => u.username)).toContain('paula');
    await admin().user.setRole({ id: created.id, role: 'auditor' });
    const paula = callerFor(fx.authority, { id: created.id, name: 'paula', role: 'auditor' });
    expect(await paula.user.me()).toMatchObject({ id: created.id, role: 'auditor', authMethod: 'local' });
    await paula.user.changePassword({ oldPassword: 'paula-password-1', newPassword: 'paula-password-2' });
    const login = await callerFor(fx.authority).user.login({ username: 'paula', password: 'paula-password-2' });
    expect(login.user).toMatchObject({ id: created.id, role: 'auditor' });
    expect(login.csrfToken.length).toBeGreaterThan(20);
    expect(login).not.toHaveProperty('sessionToken'); // the secret only travels in the HttpOnly cookie
    await admin().user.disable({ id: created.id });
    expect((await admin().user.list()).items.find((u) => u.id === created.id)?.disabled).toBe(true);
    expect(await callerFor(fx.authority).user.logout()).toEqual({ ok: true });

    const t = await admin().token.create({
      name: 'deploy',
      role: 'operator',
      scopes: ['certificate:issue'],
      expiresIn: '30d',
    });
    expect(t.token).toMatch(/^pkim_/);
    const listed = await admin().token.list();
    expect(listed.items.find((x) => x.id === t.id)).toMatchObject({
      name: 'deploy',
      role: 'operator',
      scopes: ['certificate:issue'],
    });
    expect(JSON.stringify(listed)).not.toContain(t.token);
    await admin().token.revoke({ id: t.id });
    expect((await trpcError(admin().token.revoke({ id: t.id }))).code).toBe('CONFLICT');
    expect((await trpcError(admin().token.create({ name: 'x', role: 'operator', scopes: ['bad scope'] }))).code).toBe(
      'BAD_REQUEST',
    );
  });

  it('system: health, info and dashboard stats', async () => {
    await callerFor(fx.authority, ACTORS.operator).certificate.issueWithKey({
      ca: intId,
      profile: 'tls-server',
      subject: { commonName: 'soon.example.test' },
      sans: { dns: ['soon.example.test'] },
      keyType: 'ECDSA-P256',
      ttl: '5d',
    });
    const c = callerFor(fx.authority, ACTORS.requester);
    expect(await c.system.health()).toMatchObject({ ok: true, database: true });
    expect(await c.system.info()).toMatchObject({ name: 'pkim', databaseDialect: 'sqlite' });
    const stats = await c.system.stats();
    expect(stats.cas).toEqual({ total: 2, active: 2 });
    expect(stats.certificates.revoked).toBe(1);
    expect(stats.certificates.active).toBeGreaterThanOrEqual(2);
    expect(stats.expiring.within7d).toBe(1);
    expect(stats.expiring.within30d).toBeGreaterThanOrEqual(1);
    expect(stats.pendingRequests).toBe(0);
  });

  it('ca: revokes an intermediate with everything below it; deletes only what no CRL lists any more', async () => {
    const r = await admin().ca.revoke({ id: intId, reason: 'cessationOfOperation' });
    expect(r.ca.status).toBe('revoked');
    expect(r.revokedCertificates).toBeGreaterThanOrEqual(2);
    // still listed on the root's CRL until it expires
    expect(pkiCodeOf(await trpcError(admin().ca.delete({ id: intId })))).toBe('ca.not_deletable');
    expect(pkiCodeOf(await trpcError(admin().ca.delete({ id: rootId })))).toBe('ca.not_deletable');
    const spare = await admin().ca.create({
      name: 'spare-root',
      subject: { commonName: 'Spare Root' },
      keyType: 'ECDSA-P256',
    });
    await admin().ca.revoke({ id: spare.id, reason: 'cessationOfOperation' });
    expect(await admin().ca.delete({ id: spare.id, destroyKey: true })).toEqual({ ok: true, keyDestroyed: true });
    expect((await trpcError(admin().ca.get({ ref: spare.id }))).code).toBe('NOT_FOUND');
  });
});
