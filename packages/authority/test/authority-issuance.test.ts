// Authority services on both engines, issuance: CA creation, issuing from CSRs and with server keys, name constraints,
// bad input refused with a failure audit event. Revocation, CRL, OCSP, requests: authority-revocation.test.ts;
// createAuthority's options (fault injection, clock, profiles.json): authority-options.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { createPublicKey, createPrivateKey } from 'node:crypto';
import { parseDuration } from '@pkim/shared';
import { parseCertificate } from '@pkim/core';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { ENGINES } from '../../../tests/support/engines';
import { opensslCsr, openssl } from '../../../tests/support/openssl-tools';
import { opensslVerify, certtoolVerify, goVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, useAuthoritySuite } from './fixtures/authority-suite';

describe.each(ENGINES)('authority issuance on $name', (engine) => {
  const s = useAuthoritySuite(engine);

  it('creates a root and a name-constrained intermediate whose rows carry key URIs and audit events', async () => {
    const ca = (await s.authority.cas.get(s.intId)).ca;
    expect(ca.parentId).toBe(s.rootId);
    expect(ca.keyUri).toMatch(/^software:key_/);
    expect(ca.pathLen).toBe(0);
    expect(ca.nameConstraints?.permittedDns).toEqual(['.example.com']);
    const events = await s.authority.audit.list({ target: s.intId, limit: 10 });
    expect(events.map((e) => e.action)).toContain('ca.created');
    const v = opensslVerify({ leafPem: s.intPem, chainPems: [], rootPem: s.rootPem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
  });

  it('issues a tls-server certificate from an openssl CSR that openssl, certtool and Go accept', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=www.example.com',
      sans: ['DNS:www.example.com'],
    });
    const issued = await s.authority.issuance.issueFromCsr({ caId: s.intId, csrPem, profile: 'tls-server' }, admin);
    expect(issued.certificate.serialHex).toMatch(/^[0-9a-f]{2,40}$/);
    expect(issued.certificate.sans.dns).toEqual(['www.example.com']);
    const o = s.opensslVerifyLeaf(issued.certificatePem, 'sslserver');
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: issued.certificatePem, chainPems: [s.intPem], rootPem: s.rootPem });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem: issued.certificatePem,
      intermediatesPems: [s.intPem],
      rootPem: s.rootPem,
      dnsName: 'www.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
    const text = openssl(['x509', '-noout', '-text', '-in', '@c.pem'], { 'c.pem': issued.certificatePem }).output;
    expect(text).toContain(`http://127.0.0.1:9/crl/${s.intId}.crl`);
    expect(text).toContain('OCSP - URI:http://127.0.0.1:9/ocsp');
    const row = await internalsOf(s.authority).store.certificates.findById(issued.certificate.id);
    expect(row?.fingerprintSha256).toBe(issued.certificate.fingerprintSha256);
    // what the row records of the CSR and the signed certificate (leafRecord, on this thread without a pool)
    expect(row).toMatchObject({
      keyType: 'ec-p256',
      sans: { dns: ['www.example.com'] },
      subjectDn: 'CN=www.example.com',
      commonName: 'www.example.com',
      certificatePem: issued.certificatePem,
    });
    const events = await s.authority.audit.list({ target: issued.certificate.id, limit: 5 });
    expect(events.map((e) => e.action)).toEqual(['certificate.issued']);
  });

  it("checks every ancestor's name constraints, not only the issuer's", async () => {
    const mid = await s.authority.cas.create(
      {
        name: 'constrained-mid',
        subject: 'CN=Constrained Mid CA',
        keyType: 'ec-p256',
        parentId: s.rootId,
        pathLen: 1,
        nameConstraints: { permittedDns: ['.example.com'] },
      },
      admin,
    );
    const sub = await s.authority.cas.create(
      {
        name: 'unconstrained-sub',
        subject: 'CN=Unconstrained Sub CA',
        keyType: 'ec-p256',
        parentId: mid.ca.id,
        pathLen: 0,
      },
      admin,
    );
    const before = await s.counts();
    const bad = opensslCsr({ keyType: 'ec-p256', subject: '/CN=www.other.org', sans: ['DNS:www.other.org'] }).csrPem;
    await expectPkiError(
      s.authority.issuance.issueFromCsr({ caId: sub.ca.id, csrPem: bad, profile: 'tls-server' }, admin),
      'lint.name_constraints_violation',
    );
    expect((await s.counts()).certs).toBe(before.certs);
    const good = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=deep.example.com',
      sans: ['DNS:deep.example.com'],
    }).csrPem;
    const issued = await s.authority.issuance.issueFromCsr(
      { caId: sub.ca.id, csrPem: good, profile: 'tls-server' },
      admin,
    );
    const v = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [sub.certificatePem!, mid.certificatePem!],
      rootPem: s.rootPem,
      purpose: 'sslserver',
    });
    expect(v.ok, v.output).toBe(true);
    const g = goVerify({
      leafPem: issued.certificatePem,
      intermediatesPems: [sub.certificatePem!, mid.certificatePem!],
      rootPem: s.rootPem,
      dnsName: 'deep.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
  });

  describe('bad input: a clear error that changes nothing but a failure audit event', () => {
    const good = () =>
      opensslCsr({ keyType: 'ec-p256', subject: '/CN=api.example.com', sans: ['DNS:api.example.com'] }).csrPem;
    interface BadInput {
      name: string;
      code: string;
      /** the failure audit event's action; default certificate.issue_failed */
      action?: string;
      /** a part of the error message */
      message?: string;
      run: (a: Authority) => Promise<unknown>;
    }
    const cases: BadInput[] = [
      {
        name: 'a name outside the constraints',
        code: 'lint.name_constraints_violation',
        message: 'www.other.org',
        run: (a) =>
          a.issuance.issueFromCsr(
            {
              caId: s.intId,
              csrPem: opensslCsr({ keyType: 'ec-p256', subject: '/CN=www.other.org', sans: ['DNS:www.other.org'] })
                .csrPem,
              profile: 'tls-server',
            },
            admin,
          ),
      },
      {
        name: 'garbage CSR',
        code: 'csr.invalid',
        run: (a) =>
          a.issuance.issueFromCsr({ caId: s.intId, csrPem: 'hello, I am not a CSR', profile: 'tls-server' }, admin),
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
              caId: s.intId,
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
              caId: s.intId,
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
              caId: s.intId,
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
        run: (a) => a.issuance.issueFromCsr({ caId: s.intId, csrPem: good(), profile: 'no-such-profile' }, admin),
      },
      {
        name: 'lifetime beyond the profile cap',
        code: 'policy.lifetime_exceeded',
        run: (a) =>
          a.issuance.issueFromCsr(
            { caId: s.intId, csrPem: good(), profile: 'tls-server', validityMs: parseDuration('400d') },
            admin,
          ),
      },
      {
        name: "lifetime beyond the issuer's expiry",
        code: 'lint.lifetime_beyond_issuer',
        run: (a) =>
          a.issuance.issueFromCsr(
            { caId: s.intId, csrPem: good(), profile: 'code-signing', validityMs: parseDuration('20y') },
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
        action: 'certificate.revoke_failed',
        run: (a) => a.certificates.revoke('0badc0ffee', 'keyCompromise', admin),
      },
    ];
    it.each(cases)('$name → $code', async (c) => {
      const before = await s.counts();
      const e = await expectPkiError(c.run(s.authority), c.code);
      if (c.message) expect(e.message).toContain(c.message);
      const after = await s.counts();
      expect(after.certs).toBe(before.certs);
      expect(after.events).toBe(before.events + 1);
      const [last] = await s.authority.audit.list({ limit: 1, order: 'desc' });
      if (!last) throw new Error('no audit event');
      expect(last.outcome).toBe('failure');
      expect(last.action).toBe(c.action ?? 'certificate.issue_failed');
      expect(last.details.code).toBe(c.code);
    });
  });

  describe('a CA creation that fails after its key was made leaves no key behind', () => {
    /** the ids of the software key blobs in the store (the CA keys of this suite) */
    const keyBlobIds = async () =>
      (await internalsOf(s.authority).store.exportRows('key_blobs', null, 10_000)).rows.map((r) => String(r.id)).sort();
    /** runs `body` counting the software backend's key generations (the real backend: a spy that calls through) */
    const countingKeys = async (body: () => Promise<void>): Promise<number> => {
      const spy = vi.spyOn(internalsOf(s.authority).keys.get('software'), 'generateKey');
      try {
        await body();
        return spy.mock.calls.length;
      } finally {
        spy.mockRestore();
      }
    };

    it('the request refuses before a key is made (a parent of pathLen 0, a malformed name constraint)', async () => {
      const cases = [
        {
          input: { name: 'Below PathLen Zero', parentId: s.intId },
          code: 'lint.path_length_exceeded',
          message: 'the issuer has pathLenConstraint 0 and cannot sign a CA certificate',
        },
        {
          input: {
            name: 'Bad Constraint',
            parentId: s.rootId,
            pathLen: 0,
            nameConstraints: { permittedDns: ['a..b'] },
          },
          code: 'lint.invalid_san',
          message: "invalid DNS name constraint 'a..b'",
        },
        {
          // the policy-only URI prefixes pass the API schema (any string): only this rule refuses them
          input: { name: 'Bad Prefix', nameConstraints: { permittedUriPrefixes: ['no scheme'] } },
          code: 'lint.invalid_san',
          message: "invalid URI prefix constraint 'no scheme' (an absolute URI)",
        },
      ];
      for (const c of cases) {
        const before = await keyBlobIds();
        const made = await countingKeys(async () => {
          const e = await expectPkiError(
            s.authority.cas.create({ subject: `CN=${c.input.name}`, keyType: 'ec-p256' as const, ...c.input }, admin),
            c.code,
          );
          expect(e.message).toBe(c.message); // the lint's own message, as before the check moved ahead of the key
        });
        expect(made, c.input.name).toBe(0);
        expect(await keyBlobIds()).toEqual(before);
        expect(await internalsOf(s.authority).store.cas.findByName(c.input.name)).toBeUndefined();
        const [last] = await s.authority.audit.list({ limit: 1, order: 'desc' });
        expect(last?.action).toBe('ca.create_failed');
        expect(last?.details.code).toBe(c.code);
      }
    });

    it('an external CA (a CSR for an outside issuer) with a bad name constraint: refused, no key made', async () => {
      const before = await keyBlobIds();
      const name = 'External Bad Constraint';
      const made = await countingKeys(async () => {
        const e = await expectPkiError(
          s.authority.cas.createExternalIntermediate(
            { name, subject: `CN=${name}`, keyType: 'ec-p256', nameConstraints: { excludedEmail: ['a@@b'] } },
            admin,
          ),
          'lint.invalid_san',
        );
        expect(e.message).toBe("invalid email name constraint 'a@@b'");
      });
      expect(made).toBe(0);
      expect(await keyBlobIds()).toEqual(before);
      expect(await internalsOf(s.authority).store.cas.findByName(name)).toBeUndefined();
    });

    it("the signing step refuses (the CA's name outside its parent's constraints): no CA, no key", async () => {
      const parent = await s.authority.cas.create(
        {
          name: 'Constrained Parent',
          subject: 'CN=Constrained Parent',
          keyType: 'ec-p256',
          parentId: s.rootId,
          pathLen: 1,
          nameConstraints: { permittedDns: ['.example.com'] },
        },
        admin,
      );
      const before = await keyBlobIds();
      // a CN that is a host name outside .example.com: only the lint of the planned certificate sees it
      const name = 'ca.other.org';
      const made = await countingKeys(async () => {
        const e = await expectPkiError(
          s.authority.cas.create({ name, subject: `CN=${name}`, keyType: 'ec-p256', parentId: parent.ca.id }, admin),
          'lint.name_constraints_violation',
        );
        expect(e.message).toContain(name);
      });
      expect(made).toBe(1); // the key was made before the refusal …
      expect(await keyBlobIds()).toEqual(before); // … and destroyed
      expect(await internalsOf(s.authority).store.cas.findByName(name)).toBeUndefined();
      const [last] = await s.authority.audit.list({ limit: 1, order: 'desc' });
      expect(last?.action).toBe('ca.create_failed');
      expect(last?.details.code).toBe('lint.name_constraints_violation');
    });

    it('the store write refuses (two creations of one name at once): one CA, one key, one destroyed', async () => {
      const before = await keyBlobIds();
      const input = { name: 'Raced Root', subject: 'CN=Raced Root', keyType: 'ec-p256' as const };
      // both pass the name check before either commits: the loser's key is made, its CA row refused by the index.
      // The real backend's generateKey waits until both creations reach it (past their name checks), so a loaded
      // machine cannot let one creation commit before the other checks the name (which refuses before any key).
      const backend = internalsOf(s.authority).keys.get('software');
      const generate = backend.generateKey.bind(backend);
      let arrived = 0;
      let bothArrived: () => void = () => undefined;
      const barrier = new Promise<void>((resolve) => (bothArrived = resolve));
      const giveUp = setTimeout(() => bothArrived(), 20_000); // one creation never got there: fails below, not hangs
      const spy = vi.spyOn(backend, 'generateKey').mockImplementation(async (...args) => {
        if (++arrived === 2) bothArrived();
        await barrier;
        return generate(...args);
      });
      const results = await Promise.allSettled([
        s.authority.cas.create(input, admin),
        s.authority.cas.create(input, admin),
      ]).finally(() => {
        clearTimeout(giveUp);
        spy.mockRestore();
      });
      expect(arrived).toBe(2);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const e = lost[0]!.reason as { code?: string; message?: string };
      expect(e.code).toBe('ca.name_taken');
      expect(e.message).toContain('nothing was committed'); // refused at the commit, after its key was made
      const winner = won[0]!.value.ca;
      const after = await keyBlobIds();
      expect(after).toEqual([...before, winner.keyUri.replace(/^software:/, '')].sort());
      const pub = await internalsOf(s.authority).keys.getPublicKey(winner.keyUri);
      expect(Buffer.from(pub).equals(Buffer.from(parseCertificate(won[0]!.value.certificatePem!).publicKey))).toBe(
        true,
      );
    });
  });

  it('issues with a server-generated key that is returned once and matches the certificate', async () => {
    const issued = await s.authority.issuance.issueWithKey(
      keyRequest(s.intId, 'client.example.com', { profile: 'tls-client' }),
      admin,
    );
    expect(issued.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    const pubFromKey = createPublicKey(createPrivateKey(issued.privateKeyPem!)).export({ type: 'spki', format: 'der' });
    const pubFromCert = createPublicKey(issued.certificatePem).export({ type: 'spki', format: 'der' });
    expect(Buffer.compare(pubFromKey, pubFromCert)).toBe(0);
    const v = s.opensslVerifyLeaf(issued.certificatePem, 'sslclient');
    expect(v.ok, v.output).toBe(true);
    const row = await internalsOf(s.authority).store.certificates.findById(issued.certificate.id);
    expect(JSON.stringify(row)).not.toContain('PRIVATE KEY');
  });

  it('issues the profile maximum when asked for it: 398d tls-server, the backdated minute included', async () => {
    const issued = await s.authority.issuance.issueWithKey(
      keyRequest(s.intId, 'max.example.com', { validityMs: parseDuration('398d') }),
      admin,
    );
    const dates = openssl(['x509', '-noout', '-dates', '-in', '@c.pem'], { 'c.pem': issued.certificatePem }).output;
    const [from, to] = ['notBefore', 'notAfter'].map((k) => Date.parse(new RegExp(`${k}=(.*)`).exec(dates)![1]!));
    expect(to! - from!).toBeLessThanOrEqual(parseDuration('398d'));
    expect(to! - from!).toBeGreaterThan(parseDuration('398d') - 120_000);
    expect(s.opensslVerifyLeaf(issued.certificatePem, 'sslserver').ok).toBe(true);
    await expectPkiError(
      s.authority.issuance.issueWithKey(
        keyRequest(s.intId, 'max.example.com', { validityMs: parseDuration('399d') }),
        admin,
      ),
      'policy.lifetime_exceeded',
    );
  });

  it('finds certificates expiring before a date', async () => {
    const soon = await s.authority.issuance.issueWithKey(
      keyRequest(s.intId, 'soon.example.com', { validityMs: parseDuration('2d') }),
      admin,
    );
    const list = await s.authority.certificates.expiringBefore(Date.now() + parseDuration('3d'));
    expect(list.map((c) => c.id)).toContain(soon.certificate.id);
    const none = await s.authority.certificates.expiringBefore(Date.now() + parseDuration('1d'));
    expect(none.map((c) => c.id)).not.toContain(soon.certificate.id);
  });

  it('the audit chain verifies and counts every event', async () => {
    const r = await s.authority.audit.verify();
    expect(r.ok).toBe(true);
    expect(r.count).toBe(await internalsOf(s.authority).store.audit.count());
  });
});
