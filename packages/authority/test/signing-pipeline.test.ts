import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { internalsOf } from '@pkim/authority/internals';
import { createAuthority, createProvisioner, type Actor, type Authority } from '@pkim/authority';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { flipSignatureBit } from './fixtures/csr-compare';

const DAY = 86_400_000;

describe('the one signing pipeline with provisioners', () => {
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  let rootPem: string;
  let payments: { id: string; pem: string };
  let other: { id: string; pem: string };

  /** a token limited to the payments CA, the tls-server profile and names below payments.example.com */
  const limited: Actor = {
    id: 'tok_limited',
    name: 'payments-ci',
    role: 'operator',
    resources: {
      cas: ['payments'],
      profiles: ['tls-server'],
      names: ['*.payments.example.com'],
      maxLifetimeMs: 30 * DAY,
    },
  };

  async function issuedCount(): Promise<number> {
    return (await authority.audit.list({ action: 'certificate.issued', limit: 1000 })).length;
  }

  beforeAll(async () => {
    tmp = tempDir();
    authority = await createAuthority({ dataDir: tmp.dir, logger: silentLogger });
    const root = await authority.sign(
      { kind: 'root-ca', name: 'root', subject: 'CN=Pipeline Root,O=Tests', keyType: 'ec-p256' },
      { actor: TEST_ADMIN },
    );
    rootPem = root.certificatePem!;
    for (const name of ['payments', 'other']) {
      const v = await authority.sign(
        {
          kind: 'intermediate-ca',
          parent: 'root',
          name,
          subject: `CN=${name} CA,O=Tests`,
          keyType: 'ec-p256',
          pathLen: 1,
        },
        { actor: TEST_ADMIN },
      );
      const entry = { id: v.ca.id, pem: v.certificatePem! };
      if (name === 'payments') payments = entry;
      else other = entry;
    }
  });

  afterAll(async () => {
    await authority.close();
    tmp.cleanup();
  });

  it('issues within the token resources, resolves the CA by name, names the provisioner in the audit', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=api.payments.example.com',
      sans: ['DNS:api.payments.example.com'],
    });
    const issued = await authority.sign(
      { kind: 'leaf-csr', ca: 'payments', csrPem, profile: 'tls-server', lifetimeMs: 7 * DAY },
      { actor: limited },
    );
    expect(issued.certificate.caId).toBe(payments.id);
    const v = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [payments.pem],
      rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
    const [event] = await authority.audit.list({ action: 'certificate.issued', target: issued.certificate.id });
    expect(event?.details.provisioner).toEqual({ kind: 'token', id: 'tok_limited', name: 'payments-ci' });
    expect(event?.actor).toBe('tok_limited');
  });

  it("a plain leaf (stored, no channel rows, no kept key): its row and the issued event's fields", async () => {
    const dns = 'plain.payments.example.com';
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] });
    const issued = await authority.sign(
      { kind: 'leaf-csr', ca: 'payments', csrPem, profile: 'tls-server', lifetimeMs: DAY },
      { actor: TEST_ADMIN },
    );
    const v = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [payments.pem],
      rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
    expect((await authority.certificates.get(issued.certificate.id)).certificate.serialHex).toBe(
      issued.certificate.serialHex,
    );
    const [event] = await authority.audit.list({ action: 'certificate.issued', target: issued.certificate.id });
    const c = issued.certificate;
    expect(event?.details).toEqual({
      caId: payments.id,
      serial: c.serialHex,
      subject: c.subjectDn,
      sans: c.sans,
      profile: 'tls-server',
      notAfter: c.notAfter,
      requestId: null,
      fingerprint: c.fingerprintSha256,
      provisioner: { kind: 'user', id: TEST_ADMIN.id, name: TEST_ADMIN.name },
    });
  });

  it.each([
    ['another CA', { ca: 'other' }, 'provisioner.ca_not_allowed'],
    ['another profile', { profile: 'tls-client' }, 'provisioner.profile_not_allowed'],
    ['a name outside its patterns', { dns: 'api.billing.example.com' }, 'provisioner.name_not_allowed'],
    ['the apex of its pattern', { dns: 'payments.example.com' }, 'provisioner.name_not_allowed'],
    ['a longer lifetime', { lifetimeMs: 31 * DAY }, 'provisioner.lifetime_exceeded'],
  ])('refuses a token limited elsewhere: %s → %s, nothing issued', async (_label, change, code) => {
    const dns = (change as { dns?: string }).dns ?? 'www.payments.example.com';
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] });
    const before = await issuedCount();
    const e = await expectPkiError(
      authority.sign(
        {
          kind: 'leaf-csr',
          ca: (change as { ca?: string }).ca ?? 'payments',
          csrPem,
          profile: (change as { profile?: string }).profile ?? 'tls-server',
          lifetimeMs: (change as { lifetimeMs?: number }).lifetimeMs ?? DAY,
        },
        { actor: limited },
      ),
      code,
    );
    expect(e.kind).toBe('forbidden');
    // lifetimes are named in the unit they were given (31d, not 744 h)
    if (code === 'provisioner.lifetime_exceeded')
      expect(e.message).toContain("31d exceeds this channel's maximum of 30d");
    expect(await issuedCount()).toBe(before);
    // positive control: the same request by an unrestricted admin is issued
    const ok = await authority.sign(
      {
        kind: 'leaf-csr',
        ca: (change as { ca?: string }).ca ?? 'payments',
        csrPem,
        profile: (change as { profile?: string }).profile ?? 'tls-server',
        lifetimeMs: (change as { lifetimeMs?: number }).lifetimeMs ?? DAY,
      },
      { actor: TEST_ADMIN },
    );
    expect(ok.certificate.status).toBe('active');
  });

  it('a channel provisioner adds policy and modifiers: default profile, lifetime cap, EKU (openssl)', async () => {
    const vaultRole = createProvisioner({
      kind: 'vault-role',
      id: 'vault-role:internal-client',
      name: 'internal-client',
      policy: { cas: [payments.id], names: ['*.payments.example.com'], keyTypes: ['ec-p256'] },
      modifiers: { defaultProfile: 'tls-server', extKeyUsage: ['clientAuth'], capLifetimeMs: 2 * DAY },
    });
    const issued = await authority.sign(
      {
        kind: 'leaf-generated-key',
        ca: payments.id,
        keyType: 'ec-p256',
        subject: { commonName: 'svc.payments.example.com' },
        sans: { dns: ['svc.payments.example.com'] },
        lifetimeMs: 20 * DAY,
      },
      { actor: TEST_ADMIN, provisioner: vaultRole },
    );
    expect(issued.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(issued.certificate.notAfter - issued.certificate.notBefore).toBeLessThanOrEqual(2 * DAY + 61_000);
    const text = opensslText(issued.certificatePem);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).not.toMatch(/TLS Web Server Authentication/);
    const [event] = await authority.audit.list({ action: 'certificate.issued', target: issued.certificate.id });
    expect(event?.details.provisioner).toMatchObject({ kind: 'vault-role', id: 'vault-role:internal-client' });
    // the channel's key types apply before any key is generated
    await expectPkiError(
      authority.sign(
        { kind: 'leaf-generated-key', ca: payments.id, keyType: 'rsa-2048', subject: 'CN=x.payments.example.com' },
        { actor: TEST_ADMIN, provisioner: vaultRole },
      ),
      'provisioner.key_type_not_allowed',
    );
  });

  it('only admins (and the local operator) create CA certificates; the pipeline checks permission itself', async () => {
    const operator: Actor = { id: 'usr_op', role: 'operator' };
    await expectPkiError(
      authority.sign({ kind: 'root-ca', name: 'rogue', subject: 'CN=Rogue', keyType: 'ec-p256' }, { actor: operator }),
      'auth.forbidden',
    );
    const scopedAdmin: Actor = { id: 'tok_admin', role: 'admin', resources: { cas: ['other'] } };
    await expectPkiError(
      authority.sign(
        { kind: 'intermediate-ca', parent: 'payments', name: 'sub', subject: 'CN=Sub', keyType: 'ec-p256' },
        { actor: scopedAdmin },
      ),
      'provisioner.ca_not_allowed',
    );
    const cas = await authority.cas.list();
    expect(cas.map((c) => c.name).sort()).toEqual(['other', 'payments', 'root']);
    // positive control: the CLI operator may
    const sub = await authority.sign(
      { kind: 'intermediate-ca', parent: 'other', name: 'sub', subject: 'CN=Sub', keyType: 'ec-p256' },
      { actor: { id: 'cli:test', role: 'admin' } },
    );
    const [event] = await authority.audit.list({ action: 'ca.created', target: sub.ca.id });
    expect(event?.details.provisioner).toEqual({ kind: 'local', id: 'cli:test', name: 'cli:test' });
    expect(other.id).toBe(sub.ca.parentId);
  });

  it('approves a request through the pipeline, with the reviewer token limits applied', async () => {
    const requester: Actor = { id: 'usr_req', role: 'requester' };
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=pay.payments.example.com',
      sans: ['DNS:pay.payments.example.com'],
    });
    const req = await authority.requests.submit({ caId: 'payments', csrPem, profile: 'tls-server' }, requester);
    const reviewerElsewhere: Actor = { id: 'tok_rev', role: 'operator', resources: { cas: ['other'] } };
    await expectPkiError(authority.requests.approve(req.id, reviewerElsewhere), 'provisioner.ca_not_allowed');
    expect((await authority.requests.get(req.id, TEST_ADMIN)).status).toBe('pending');
    const done = await authority.sign({ kind: 'approved-request', requestId: req.id }, { actor: TEST_ADMIN });
    expect(done.request.status).toBe('issued');
    expect(done.issued.certificate.requestId).toBe(req.id);
    const v = opensslVerify({ leafPem: done.issued.certificatePem, chainPems: [payments.pem], rootPem });
    expect(v.ok, v.output).toBe(true);
    // the request keeps its certificate's notAfter, as openssl reads it (migration 0038: the requester's listing by
    // expiry walks it), written with the certificate
    const { store } = internalsOf(authority);
    const notAfter = Date.parse(/Not After : (.+)/.exec(opensslText(done.issued.certificatePem))![1]!);
    expect((await store.requests.findById(req.id))?.certificateNotAfter).toBe(notAfter);
    expect(done.request.certificateNotAfter).toBe(notAfter);
    const mine = await store.certificates.list({ requester: requester.id, sort: 'expiry_desc' });
    expect(mine.items.map((c) => c.id)).toEqual([done.issued.certificate.id]);
  });

  it('stores token and user resources (migration 0004), enforces them on issuance, revocation, requests', async () => {
    const created = await authority.auth.createToken(
      { name: 'pay-ci', role: 'operator', resources: { cas: ['payments'], names: ['*.payments.example.com'] } },
      TEST_ADMIN,
    );
    const tokenActor = await authority.auth.authenticateToken(created.token);
    expect(tokenActor?.resources).toEqual({ cas: ['payments'], names: ['*.payments.example.com'] });
    expect((await authority.auth.listTokens()).find((t) => t.id === created.id)?.resources).toEqual({
      cas: ['payments'],
      names: ['*.payments.example.com'],
    });
    const leafOnOther = await authority.sign(
      {
        kind: 'leaf-generated-key',
        ca: 'other',
        keyType: 'ec-p256',
        subject: 'CN=x.payments.example.com',
        profile: 'tls-server',
        sans: { dns: ['x.payments.example.com'] },
      },
      { actor: TEST_ADMIN },
    );
    await expectPkiError(
      authority.sign(
        {
          kind: 'leaf-generated-key',
          ca: 'other',
          keyType: 'ec-p256',
          subject: 'CN=y.payments.example.com',
          profile: 'tls-server',
          sans: { dns: ['y.payments.example.com'] },
        },
        { actor: tokenActor! },
      ),
      'provisioner.ca_not_allowed',
    );
    await expectPkiError(
      authority.certificates.revoke(leafOnOther.certificate.id, 'superseded', tokenActor!),
      'provisioner.ca_not_allowed',
    );
    expect((await authority.certificates.get(leafOnOther.certificate.id)).certificate.status).toBe('active');
    // a limited actor cannot mint a wider token
    await expectPkiError(
      authority.auth.createToken(
        { name: 'wider', role: 'operator', resources: { cas: ['other'] } },
        {
          ...TEST_ADMIN,
          resources: { cas: ['payments'] },
        },
      ),
      'auth.forbidden',
    );
    // users: an admin limits a requester to names below payments.example.com
    const user = await authority.auth.createUser(
      { username: 'req-limited', password: 'correct horse battery staple', role: 'requester' },
      TEST_ADMIN,
    );
    await authority.auth.setUserResources(user.id, { names: ['*.payments.example.com'] }, TEST_ADMIN);
    const login = await authority.auth.login('req-limited', 'correct horse battery staple', {});
    expect(login.actor.resources).toEqual({ names: ['*.payments.example.com'] });
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=www.example.org',
      sans: ['DNS:www.example.org'],
    });
    await expectPkiError(
      authority.requests.submit({ caId: 'payments', csrPem, profile: 'tls-server' }, login.actor),
      'provisioner.name_not_allowed',
    );
  });

  it('rejects malformed provisioner data and unknown request kinds clearly', async () => {
    expect(() => createProvisioner({ kind: 'spiffe', id: 'x', policy: { names: ['*.*.bad'] } })).toThrow(PkiError);
    await expectPkiError(authority.sign({ kind: 'nope' } as never, { actor: TEST_ADMIN }), 'input.invalid');
  });
  it("refuses a leaf failing two checks with the CSR's own error, rejected (never thrown) and audited", async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=twice.payments.example.com',
      sans: ['DNS:twice.payments.example.com'],
    });
    const broken = flipSignatureBit(csrPem); // no proof of possession
    const leaf = { kind: 'leaf-csr' as const, ca: payments.id, profile: 'tls-server' };
    const cases: { request: Parameters<Authority['sign']>[0]; actor: Actor; code: string }[] = [
      // each with a valid CSR first: the other check alone refuses it
      { request: { ...leaf, csrPem, profile: 'no-such-profile' }, actor: TEST_ADMIN, code: 'profile.not_found' },
      {
        request: { ...leaf, csrPem, profile: 'code-signing' },
        actor: limited,
        code: 'provisioner.profile_not_allowed',
      },
      { request: { ...leaf, csrPem, ca: other.id }, actor: limited, code: 'provisioner.ca_not_allowed' },
      // the same with the broken CSR: its own error comes first (the CSR is decoded before the policy applies)
      {
        request: { ...leaf, csrPem: broken, profile: 'no-such-profile' },
        actor: TEST_ADMIN,
        code: 'csr.invalid_signature',
      },
      { request: { ...leaf, csrPem: broken, profile: 'code-signing' }, actor: limited, code: 'csr.invalid_signature' },
      { request: { ...leaf, csrPem: broken, ca: other.id }, actor: limited, code: 'csr.invalid_signature' },
      // a permission refused before anything else: the actor's error whatever the CSR
      { request: { ...leaf, csrPem: broken }, actor: { id: 'tok_ro', role: 'auditor' }, code: 'auth.forbidden' },
    ];
    for (const c of cases) {
      let answer: Promise<unknown> | undefined;
      expect(() => (answer = authority.sign(c.request, { actor: c.actor }))).not.toThrow();
      await expectPkiError(answer!, c.code);
      const [event] = await authority.audit.list({ action: 'certificate.issue_failed', order: 'desc', limit: 1 });
      expect(event?.details).toMatchObject({ code: c.code });
      expect(event?.actor).toBe(c.actor.id);
    }
  });

  it("commits a channel's own rows with the certificate; lets a channel name the permission it requires", async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=chan.payments.example.com',
      sans: ['DNS:chan.payments.example.com'],
    });
    const channel = createProvisioner({ kind: 'spiffe', id: 'spiffe:test', policy: { cas: ['payments'] } });
    // a token whose only scope is the channel's permission: refused without the channel naming it …
    const narrow: Actor = { id: 'tok_narrow', role: 'operator', scopes: ['spiffe:sign'] };
    const request = { kind: 'leaf-csr' as const, ca: 'payments', profile: 'tls-server', csrPem };
    await expectPkiError(authority.sign(request, { actor: narrow, provisioner: channel }), 'auth.forbidden');
    // … accepted when it does; the channel's writes land in the certificate's transaction
    const issued = await authority.sign(
      { ...request, commitWith: (row) => ({ setSettings: { 'test.channel.certificate': row.id } }) },
      { actor: narrow, provisioner: { ...channel, permission: 'spiffe:sign' } },
    );
    expect(await internalsOf(authority).store.settings.get('test.channel.certificate')).toBe(issued.certificate.id);
    // a failing channel write rolls the certificate back
    const before = await issuedCount();
    await expect(
      authority.sign(
        { ...request, commitWith: () => ({ updateCa: [{ id: 'ca_missing', patch: { name: 'x' } }] }) },
        { actor: TEST_ADMIN },
      ),
    ).rejects.toBeInstanceOf(PkiError);
    expect(await issuedCount()).toBe(before);
  });
});
