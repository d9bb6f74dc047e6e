import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { fixedClock, parseDuration } from '@pkim/shared';
import { createAuthority, type Authority, type Actor } from '@pkim/authority';
import { ENGINES, type EngineHandle } from '../../../tests/support/engines';
import { opensslCsr, openssl, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify, certtoolVerify, goVerify, opensslCrlVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { internalsOf } from '@pkim/authority/internals';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const silent = pino({ level: 'silent' });

describe.each(ENGINES)('authority services on $name', (engine) => {
  let handle: EngineHandle;
  let authority: Authority;
  let tmp: ReturnType<typeof tempDir>;
  let rootId: string;
  let intId: string;
  let rootPem: string;
  let intPem: string;

  async function counts() {
    const certs = await internalsOf(authority).store.certificates.list({ limit: 1000 });
    const events = await internalsOf(authority).store.audit.count();
    return { certs: certs.items.length, events };
  }

  beforeAll(async () => {
    handle = await engine.start();
    tmp = tempDir();
    authority = await createAuthority({
      dataDir: tmp.dir,
      databaseUrl: await handle.fresh(),
      logger: silent,
      publicBaseUrl: 'http://127.0.0.1:9',
    });
    const { root, issuing } = await rootAndIssuing(authority, undefined, {
      actor: admin,
      root: { subject: 'CN=Test Root CA,O=PKI Manager Tests,C=US', keyType: 'ec-p384' },
      issuing: {
        subject: { commonName: 'Test Issuing CA', organization: 'PKI Manager Tests', country: 'US' },
        pathLen: 0,
        nameConstraints: { permittedDns: ['.example.com'] },
      },
    });
    [rootId, intId, rootPem, intPem] = [root.id, issuing.id, root.pem, issuing.pem];
  });

  afterAll(async () => {
    await authority?.close();
    await handle?.stop();
    tmp?.cleanup();
  });

  it('creates a root and a name-constrained intermediate whose rows carry key URIs and audit events', async () => {
    const ca = (await authority.cas.get(intId)).ca;
    expect(ca.parentId).toBe(rootId);
    expect(ca.keyUri).toMatch(/^software:key_/);
    expect(ca.pathLen).toBe(0);
    expect(ca.nameConstraints?.permittedDns).toEqual(['.example.com']);
    const events = await authority.audit.list({ target: intId, limit: 10 });
    expect(events.map((e) => e.action)).toContain('ca.created');
    const v = opensslVerify({ leafPem: intPem, chainPems: [], rootPem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
  });

  it('issues a tls-server certificate from an openssl CSR that openssl, certtool and Go accept', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=www.example.com',
      sans: ['DNS:www.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: intId, csrPem, profile: 'tls-server' }, admin);
    expect(issued.certificate.serialHex).toMatch(/^[0-9a-f]{2,40}$/);
    expect(issued.certificate.sans.dns).toEqual(['www.example.com']);
    const o = opensslVerify({ leafPem: issued.certificatePem, chainPems: [intPem], rootPem, purpose: 'sslserver' });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: issued.certificatePem, chainPems: [intPem], rootPem });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem: issued.certificatePem,
      intermediatesPems: [intPem],
      rootPem,
      dnsName: 'www.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
    const text = openssl(['x509', '-noout', '-text', '-in', '@c.pem'], { 'c.pem': issued.certificatePem }).output;
    expect(text).toContain(`http://127.0.0.1:9/crl/${intId}.crl`);
    expect(text).toContain('OCSP - URI:http://127.0.0.1:9/ocsp');
    const row = await internalsOf(authority).store.certificates.findById(issued.certificate.id);
    expect(row?.fingerprintSha256).toBe(issued.certificate.fingerprintSha256);
    const events = await authority.audit.list({ target: issued.certificate.id, limit: 5 });
    expect(events.map((e) => e.action)).toEqual(['certificate.issued']);
  });

  it("refuses a name outside the intermediate's constraints before signing and records the failure", async () => {
    const before = await counts();
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: '/CN=www.other.org', sans: ['DNS:www.other.org'] });
    const e = await expectPkiError(
      authority.issuance.issueFromCsr({ caId: intId, csrPem, profile: 'tls-server' }, admin),
      'lint.name_constraints_violation',
    );
    expect(e.message).toContain('www.other.org');
    const after = await counts();
    expect(after.certs).toBe(before.certs);
    expect(after.events).toBe(before.events + 1);
    const [last] = await authority.audit.list({ limit: 1, order: 'desc' });
    if (!last) throw new Error('no audit event');
    expect(last.action).toBe('certificate.issue_failed');
    expect(last.outcome).toBe('failure');
    expect(last.details.code).toBe('lint.name_constraints_violation');
  });

  it("checks every ancestor's name constraints, not only the issuer's", async () => {
    const mid = await authority.cas.create(
      {
        name: 'constrained-mid',
        subject: 'CN=Constrained Mid CA',
        keyType: 'ec-p256',
        parentId: rootId,
        pathLen: 1,
        nameConstraints: { permittedDns: ['.example.com'] },
      },
      admin,
    );
    const sub = await authority.cas.create(
      {
        name: 'unconstrained-sub',
        subject: 'CN=Unconstrained Sub CA',
        keyType: 'ec-p256',
        parentId: mid.ca.id,
        pathLen: 0,
      },
      admin,
    );
    const before = await counts();
    const bad = opensslCsr({ keyType: 'ec-p256', subject: '/CN=www.other.org', sans: ['DNS:www.other.org'] }).csrPem;
    await expectPkiError(
      authority.issuance.issueFromCsr({ caId: sub.ca.id, csrPem: bad, profile: 'tls-server' }, admin),
      'lint.name_constraints_violation',
    );
    expect((await counts()).certs).toBe(before.certs);
    const good = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=deep.example.com',
      sans: ['DNS:deep.example.com'],
    }).csrPem;
    const issued = await authority.issuance.issueFromCsr(
      { caId: sub.ca.id, csrPem: good, profile: 'tls-server' },
      admin,
    );
    const v = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [sub.certificatePem!, mid.certificatePem!],
      rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
    const g = goVerify({
      leafPem: issued.certificatePem,
      intermediatesPems: [sub.certificatePem!, mid.certificatePem!],
      rootPem,
      dnsName: 'deep.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
  });

  describe('bad input: a clear error that changes nothing but a failure audit event', () => {
    const good = () =>
      opensslCsr({ keyType: 'ec-p256', subject: '/CN=api.example.com', sans: ['DNS:api.example.com'] }).csrPem;
    const cases: { name: string; code: string; run: (a: Authority) => Promise<unknown> }[] = [
      {
        name: 'garbage CSR',
        code: 'csr.invalid',
        run: (a) =>
          a.issuance.issueFromCsr({ caId: intId, csrPem: 'hello, I am not a CSR', profile: 'tls-server' }, admin),
      },
      {
        name: 'truncated CSR',
        code: 'csr.invalid',
        run: (a) => {
          const pem = good();
          const b64 = pem.replace(/-----[^-]+-----|\s/g, '');
          const cut = Buffer.from(b64, 'base64').subarray(0, 80).toString('base64');
          return a.issuance.issueFromCsr(
            {
              caId: intId,
              csrPem: `-----BEGIN CERTIFICATE REQUEST-----\n${cut}\n-----END CERTIFICATE REQUEST-----\n`,
              profile: 'tls-server',
            },
            admin,
          );
        },
      },
      {
        name: 'CSR with a broken signature',
        code: 'csr.invalid_signature',
        run: (a) => {
          const der = Buffer.from(good().replace(/-----[^-]+-----|\s/g, ''), 'base64');
          der[der.length - 5]! ^= 0xff; // inside the signature BIT STRING
          return a.issuance.issueFromCsr(
            {
              caId: intId,
              csrPem:
                der
                  .toString('base64')
                  .replace(/(.{64})/g, '$1\n')
                  .replace(/^/, '-----BEGIN CERTIFICATE REQUEST-----\n') + '\n-----END CERTIFICATE REQUEST-----\n',
              profile: 'tls-server',
            },
            admin,
          );
        },
      },
      {
        name: 'RSA-1024 CSR',
        code: 'csr.weak_key',
        run: (a) =>
          a.issuance.issueFromCsr(
            {
              caId: intId,
              csrPem: opensslCsr({
                keyType: 'rsa-1024',
                subject: '/CN=weak.example.com',
                sans: ['DNS:weak.example.com'],
              }).csrPem,
              profile: 'tls-server',
            },
            admin,
          ),
      },
      {
        name: 'unknown profile',
        code: 'profile.not_found',
        run: (a) => a.issuance.issueFromCsr({ caId: intId, csrPem: good(), profile: 'no-such-profile' }, admin),
      },
      {
        name: 'lifetime beyond the profile cap',
        code: 'policy.lifetime_exceeded',
        run: (a) =>
          a.issuance.issueFromCsr(
            { caId: intId, csrPem: good(), profile: 'tls-server', validityMs: parseDuration('400d') },
            admin,
          ),
      },
      {
        name: "lifetime beyond the issuer's expiry",
        code: 'lint.lifetime_beyond_issuer',
        run: (a) =>
          a.issuance.issueFromCsr(
            { caId: intId, csrPem: good(), profile: 'code-signing', validityMs: parseDuration('20y') },
            admin,
          ),
      },
      {
        name: 'unknown CA id',
        code: 'ca.not_found',
        run: (a) => a.issuance.issueFromCsr({ caId: 'ca_doesnotexist', csrPem: good(), profile: 'tls-server' }, admin),
      },
      {
        name: 'revoking an unknown serial',
        code: 'certificate.not_found',
        run: (a) => a.certificates.revoke('0badc0ffee', 'keyCompromise', admin),
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.code}`, async () => {
        const before = await counts();
        await expectPkiError(c.run(authority), c.code);
        const after = await counts();
        expect(after.certs).toBe(before.certs);
        expect(after.events).toBe(before.events + 1);
        const [last] = await authority.audit.list({ limit: 1, order: 'desc' });
        if (!last) throw new Error('no audit event');
        expect(last.outcome).toBe('failure');
        expect(last.action).toMatch(/\.(issue|revoke)_failed$/);
        expect(last.details.code).toBe(c.code);
      });
    }
  });

  it('revokes with keyCompromise, refuses a second revocation; the CRL lists the serial with its reason', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=revoke.example.com',
      sans: ['DNS:revoke.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: intId, csrPem, profile: 'tls-server' }, admin);
    const revoked = await authority.certificates.revoke(issued.certificate.serialHex, 'keyCompromise', admin);
    expect(revoked.status).toBe('revoked');
    const before = await counts();
    await expectPkiError(
      authority.certificates.revoke(issued.certificate.id, 'superseded', admin),
      'certificate.already_revoked',
    );
    expect((await counts()).events).toBe(before.events + 1);
    const crl = await authority.crl.generate(intId, admin);
    const v = opensslCrlVerify(crl.der, intPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase()).toContain(issued.certificate.serialHex.toLowerCase().replace(/^0+/, ''));
    expect(v.text).toContain('Key Compromise');
    // a later CRL has a higher number
    const next = await authority.crl.generate(intId, admin);
    expect(next.crlNumber).toBeGreaterThan(crl.crlNumber);
  });

  it('serves OCSP good, then revoked with the reason, as openssl reads it', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=ocsp.example.com',
      sans: ['DNS:ocsp.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: intId, csrPem, profile: 'tls-server' }, admin);
    const ask = async () => {
      const t = tempDir();
      try {
        writeFileSync(`${t.dir}/ca.pem`, intPem);
        writeFileSync(`${t.dir}/leaf.pem`, issued.certificatePem);
        writeFileSync(`${t.dir}/chain.pem`, `${intPem}\n${rootPem}`);
        execFileSync('openssl', [
          'ocsp',
          '-issuer',
          `${t.dir}/ca.pem`,
          '-cert',
          `${t.dir}/leaf.pem`,
          '-reqout',
          `${t.dir}/req.der`,
        ]);
        const res = await authority.ocsp.respond(readFileSync(`${t.dir}/req.der`));
        writeFileSync(`${t.dir}/res.der`, res.der);
        return openssl([
          'ocsp',
          '-respin',
          `${t.dir}/res.der`,
          '-issuer',
          `${t.dir}/ca.pem`,
          '-cert',
          `${t.dir}/leaf.pem`,
          '-CAfile',
          `${t.dir}/chain.pem`,
          '-resp_text',
          '-no_nonce',
        ]);
      } finally {
        t.cleanup();
      }
    };
    const good = await ask();
    expect(good.output).toMatch(/leaf\.pem: good/);
    expect(good.output).toContain('Response verify OK');
    expect(good.output).toContain('OCSP Nonce');
    await authority.certificates.revoke(issued.certificate.id, 'affiliationChanged', admin);
    const rev = await ask();
    expect(rev.output).toMatch(/leaf\.pem: revoked/);
    expect(rev.output).toContain('Reason: affiliationChanged');
  });

  it('issues with a server-generated key that is returned once and matches the certificate', async () => {
    const issued = await authority.issuance.issueWithKey(
      {
        caId: intId,
        profile: 'tls-client',
        subject: 'CN=client.example.com',
        sans: { dns: ['client.example.com'] },
        keyType: 'ec-p256',
      },
      admin,
    );
    expect(issued.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    const pubFromKey = createPublicKey(createPrivateKey(issued.privateKeyPem!)).export({ type: 'spki', format: 'der' });
    const pubFromCert = createPublicKey(issued.certificatePem).export({ type: 'spki', format: 'der' });
    expect(Buffer.compare(pubFromKey, pubFromCert)).toBe(0);
    const v = opensslVerify({ leafPem: issued.certificatePem, chainPems: [intPem], rootPem, purpose: 'sslclient' });
    expect(v.ok, v.output).toBe(true);
    const row = await internalsOf(authority).store.certificates.findById(issued.certificate.id);
    expect(JSON.stringify(row)).not.toContain('PRIVATE KEY');
  });

  it('runs the request workflow: submit, approve issues, reject needs a reason, no second decision', async () => {
    const requester: Actor = { id: 'usr_req', name: 'bob', role: 'requester' };
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=req.example.com',
      sans: ['DNS:req.example.com'],
    });
    const req = await authority.requests.submit({ caId: intId, csrPem, profile: 'tls-server' }, requester);
    expect(req.status).toBe('pending');
    const mine = await authority.requests.list({ status: 'pending' }, requester);
    expect(mine.items.map((r) => r.id)).toContain(req.id);
    const other: Actor = { id: 'usr_other', role: 'requester' };
    await expectPkiError(authority.requests.get(req.id, other), 'request.not_found');
    const approved = await authority.requests.approve(req.id, admin);
    expect(approved.request.status).toBe('issued');
    expect(approved.request.certificateId).toBe(approved.issued.certificate.id);
    expect(approved.issued.certificate.requestId).toBe(req.id);
    expect((await authority.requests.get(req.id, admin)).certificateId).toBe(approved.issued.certificate.id);
    await expectPkiError(authority.requests.approve(req.id, admin), 'request.not_pending');
    const req2 = await authority.requests.submit({ caId: intId, csrPem, profile: 'tls-server' }, requester);
    await expectPkiError(authority.requests.reject(req2.id, '  ', admin), 'input.invalid');
    const rejected = await authority.requests.reject(req2.id, 'not our domain', admin);
    expect(rejected.status).toBe('rejected');
    await expectPkiError(authority.requests.approve(req2.id, admin), 'request.not_pending');
  });

  it('finds certificates expiring before a date', async () => {
    const soon = await authority.issuance.issueWithKey(
      {
        caId: intId,
        profile: 'tls-server',
        subject: 'CN=soon.example.com',
        sans: { dns: ['soon.example.com'] },
        keyType: 'ec-p256',
        validityMs: parseDuration('2d'),
      },
      admin,
    );
    const list = await authority.certificates.expiringBefore(Date.now() + parseDuration('3d'));
    expect(list.map((c) => c.id)).toContain(soon.certificate.id);
    const none = await authority.certificates.expiringBefore(Date.now() + parseDuration('1d'));
    expect(none.map((c) => c.id)).not.toContain(soon.certificate.id);
  });

  it('revoking a CA revokes what it issued, says how many, and a revoked CA signs nothing', async () => {
    const sub = await authority.cas.create(
      { name: 'to-revoke', subject: 'CN=Short Lived CA', keyType: 'ec-p256', parentId: rootId, pathLen: 0 },
      admin,
    );
    for (const n of ['a', 'b', 'c']) {
      await authority.issuance.issueWithKey(
        {
          caId: sub.ca.id,
          profile: 'tls-server',
          subject: `CN=${n}.test`,
          sans: { dns: [`${n}.test`] },
          keyType: 'ec-p256',
        },
        admin,
      );
    }
    const r = await authority.cas.revokeCa(sub.ca.id, 'cessationOfOperation', admin);
    expect(r.revokedCertificates).toBe(3);
    const page = await authority.certificates.list({ caId: sub.ca.id, limit: 10 });
    expect(page.items.every((c) => c.status === 'revoked')).toBe(true);
    await expectPkiError(
      authority.issuance.issueWithKey(
        { caId: sub.ca.id, profile: 'tls-server', subject: 'CN=d.test', sans: { dns: ['d.test'] }, keyType: 'ec-p256' },
        admin,
      ),
      'ca.not_active',
    );
    // the root's CRL lists the revoked sub-CA
    const crl = await authority.crl.generate(rootId, admin);
    const v = opensslCrlVerify(crl.der, rootPem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase()).toContain(sub.ca.serialHex!.replace(/^0+/, ''));
    // delete needs the certificate records gone first; the key can be destroyed
    await expectPkiError(authority.cas.delete(sub.ca.id, { destroyKey: true }, admin), 'ca.not_deletable');
  });

  it('a CA that is still active cannot be deleted', async () => {
    await expectPkiError(authority.cas.delete(intId, {}, admin), 'ca.not_deletable');
  });

  it('the audit chain verifies and counts every event', async () => {
    const r = await authority.audit.verify();
    expect(r.ok).toBe(true);
    expect(r.count).toBe(await internalsOf(authority).store.audit.count());
  });
});

describe('a forced failure at the database write', () => {
  it('leaves no certificate row and no success audit event', async () => {
    const tmp = tempDir();
    try {
      const a = await createAuthority({ dataDir: tmp.dir, logger: silent });
      const root = await a.cas.create({ name: 'r', subject: 'CN=Rollback Root', keyType: 'ec-p256' }, admin);
      await a.close();
      const broken = await createAuthority({ dataDir: tmp.dir, logger: silent, faultInjection: { failCommit: true } });
      await expectPkiError(
        broken.issuance.issueWithKey(
          {
            caId: root.ca.id,
            profile: 'tls-server',
            subject: 'CN=x.test',
            sans: { dns: ['x.test'] },
            keyType: 'ec-p256',
          },
          admin,
        ),
        'store.write_failed',
      );
      await broken.close();
      const check = await createAuthority({ dataDir: tmp.dir, logger: silent });
      expect((await check.certificates.list({ limit: 10 })).items).toHaveLength(0);
      const events = await check.audit.list({ limit: 100 });
      expect(events.some((e) => e.action === 'certificate.issued')).toBe(false);
      expect((await check.audit.verify()).ok).toBe(true);
      await check.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('time-dependent behaviour uses the injected clock', () => {
  it('refuses to sign with an expired CA', async () => {
    const tmp = tempDir();
    const clock = fixedClock(Date.parse('2026-01-01T00:00:00Z'));
    try {
      const a = await createAuthority({ dataDir: tmp.dir, logger: silent, clock });
      const root = await a.cas.create(
        { name: 'r', subject: 'CN=Clock Root', keyType: 'ec-p256', validityMs: parseDuration('10d') },
        admin,
      );
      clock.advance(parseDuration('11d'));
      await expectPkiError(
        a.issuance.issueWithKey(
          {
            caId: root.ca.id,
            profile: 'tls-server',
            subject: 'CN=late.test',
            sans: { dns: ['late.test'] },
            keyType: 'ec-p256',
          },
          admin,
        ),
        'ca.not_active',
      );
      await a.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describe('custom profiles defined as data', () => {
  it('loads <data dir>/profiles.json, issues with a custom profile within its caps, refuses bad files', async () => {
    const tmp = tempDir();
    try {
      const { writeFileSync: write } = await import('node:fs');
      write(
        `${tmp.dir}/profiles.json`,
        JSON.stringify([
          {
            name: 'short-tls',
            description: 'internal TLS, one week',
            isCa: false,
            keyUsage: ['digitalSignature'],
            extKeyUsage: ['serverAuth', 'clientAuth'],
            allowedSanTypes: ['dns'],
            sanRequired: true,
            allowedKeyTypes: ['ec-p256'],
            defaultLifetime: '2d',
            maxLifetime: '7d',
          },
        ]),
      );
      const a = await createAuthority({ dataDir: tmp.dir, logger: silent });
      expect(a.profiles().map((p) => p.name)).toEqual(expect.arrayContaining(['tls-server', 'short-tls']));
      const root = await a.cas.create({ name: 'r', subject: 'CN=Profiles Root', keyType: 'ec-p256' }, admin);
      const issued = await a.issuance.issueWithKey(
        {
          caId: root.ca.id,
          profile: 'short-tls',
          subject: 'CN=svc.internal',
          sans: { dns: ['svc.internal'] },
          keyType: 'ec-p256',
        },
        admin,
      );
      expect(issued.certificate.notAfter - issued.certificate.notBefore).toBeLessThanOrEqual(
        parseDuration('2d') + 61_000,
      );
      const v = opensslVerify({
        leafPem: issued.certificatePem,
        chainPems: [],
        rootPem: root.certificatePem!,
        purpose: 'sslclient',
      });
      expect(v.ok, v.output).toBe(true);
      await expectPkiError(
        a.issuance.issueWithKey(
          {
            caId: root.ca.id,
            profile: 'short-tls',
            subject: 'CN=svc.internal',
            sans: { dns: ['svc.internal'] },
            keyType: 'ec-p256',
            validityMs: parseDuration('30d'),
          },
          admin,
        ),
        'policy.lifetime_exceeded',
      );
      await expectPkiError(
        a.issuance.issueWithKey(
          {
            caId: root.ca.id,
            profile: 'short-tls',
            subject: 'CN=svc.internal',
            sans: { dns: ['svc.internal'] },
            keyType: 'rsa-2048',
          },
          admin,
        ),
        'policy.key_type_not_allowed',
      );
      await a.close();
      write(`${tmp.dir}/profiles.json`, JSON.stringify([{ name: 'Bad Name', isCa: false }]));
      await expectPkiError(createAuthority({ dataDir: tmp.dir, logger: silent }), 'profile.invalid');
    } finally {
      tmp.cleanup();
    }
  });
});
