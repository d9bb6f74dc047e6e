// createAuthority's options, each on its own SQLite data dir: fault injection at the database write, the injected
// clock, custom profiles from <data dir>/profiles.json. The services on both engines: authority-issuance.test.ts and
// authority-revocation.test.ts.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixedClock, parseDuration } from '@pkim/shared';
import { createAuthority } from '@pkim/authority';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, silent, withDataDir, withReopenedAuthority } from './fixtures/authority-suite';

describe('a forced failure at the database write', () => {
  it('leaves no certificate row and no success audit event', async () => {
    await withDataDir(async (dataDir) => {
      const root = await withReopenedAuthority(dataDir, {}, (a) =>
        a.cas.create({ name: 'r', subject: 'CN=Rollback Root', keyType: 'ec-p256' }, admin),
      );
      await withReopenedAuthority(dataDir, { faultInjection: { failCommit: true } }, (broken) =>
        expectPkiError(broken.issuance.issueWithKey(keyRequest(root.ca.id, 'x.test'), admin), 'store.write_failed'),
      );
      await withReopenedAuthority(dataDir, {}, async (check) => {
        expect((await check.certificates.list({ limit: 10 })).items).toHaveLength(0);
        const events = await check.audit.list({ limit: 100 });
        expect(events.some((e) => e.action === 'certificate.issued')).toBe(false);
        expect((await check.audit.verify()).ok).toBe(true);
      });
    });
  });
});

describe('time-dependent behaviour uses the injected clock', () => {
  it('refuses to sign with an expired CA', async () => {
    const clock = fixedClock(Date.parse('2026-01-01T00:00:00Z'));
    await withDataDir((dataDir) =>
      withReopenedAuthority(dataDir, { clock }, async (a) => {
        const root = await a.cas.create(
          { name: 'r', subject: 'CN=Clock Root', keyType: 'ec-p256', validityMs: parseDuration('10d') },
          admin,
        );
        clock.advance(parseDuration('11d'));
        await expectPkiError(a.issuance.issueWithKey(keyRequest(root.ca.id, 'late.test'), admin), 'ca.not_active');
      }),
    );
  });
});

describe('custom profiles defined as data', () => {
  it('loads <data dir>/profiles.json, issues with a custom profile within its caps, refuses bad files', async () => {
    await withDataDir(async (dataDir) => {
      writeFileSync(
        `${dataDir}/profiles.json`,
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
          {
            name: 'exact-week',
            isCa: false,
            keyUsage: ['digitalSignature'],
            extKeyUsage: ['clientAuth'],
            allowedSanTypes: ['dns'],
            sanRequired: false,
            allowedKeyTypes: ['ec-p256'],
            defaultLifetime: '7d',
            maxLifetime: '7d',
          },
          {
            name: 'intermediate-ca',
            isCa: true,
            keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
            extKeyUsage: [],
            allowedSanTypes: [],
            sanRequired: false,
            allowedKeyTypes: ['ec-p256'],
            defaultLifetime: '7d',
            maxLifetime: '7d',
          },
        ]),
      );
      await withReopenedAuthority(dataDir, {}, async (a) => {
        expect(a.profiles().map((p) => p.name)).toEqual(expect.arrayContaining(['tls-server', 'short-tls']));
        const root = await a.cas.create({ name: 'r', subject: 'CN=Profiles Root', keyType: 'ec-p256' }, admin);
        const shortTls = (extra = {}) => keyRequest(root.ca.id, 'svc.internal', { profile: 'short-tls', ...extra });
        const issued = await a.issuance.issueWithKey(shortTls(), admin);
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
          a.issuance.issueWithKey(shortTls({ validityMs: parseDuration('30d') }), admin),
          'policy.lifetime_exceeded',
        );
        await expectPkiError(
          a.issuance.issueWithKey(shortTls({ keyType: 'rsa-2048' }), admin),
          'policy.key_type_not_allowed',
        );
        // a profile whose default is its maximum issues with the default (notBefore's backdated minute inside it)
        const exact = await a.issuance.issueWithKey(shortTls({ profile: 'exact-week' }), admin);
        expect(exact.certificate.notAfter - exact.certificate.notBefore).toBeLessThanOrEqual(parseDuration('7d'));
        const ca = await a.cas.create(
          {
            name: 'exact-ca',
            subject: 'CN=Exact CA',
            keyType: 'ec-p256',
            parentId: root.ca.id,
            validityMs: parseDuration('7d'),
          },
          admin,
        );
        expect(ca.ca.notAfter! - ca.ca.notBefore!).toBeLessThanOrEqual(parseDuration('7d'));
      });
      writeFileSync(`${dataDir}/profiles.json`, JSON.stringify([{ name: 'Bad Name', isCa: false }]));
      await expectPkiError(createAuthority({ dataDir, logger: silent }), 'profile.invalid');
    });
  });
});

describe("a CA profile's pathLen is the default path length of the CAs created with it", () => {
  const caProfile = (name: string, pathLen: number | null | undefined) => ({
    name,
    isCa: true,
    ...(pathLen === undefined ? {} : { pathLen }),
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    extKeyUsage: [],
    allowedSanTypes: [],
    sanRequired: false,
    allowedKeyTypes: ['ec-p256'],
    defaultLifetime: '5y',
    maxLifetime: '10y',
  });

  it('custom root-ca pathLen 2, intermediate-ca pathLen 1: a three-level chain that openssl accepts', async () => {
    await withDataDir(async (dataDir) => {
      writeFileSync(
        `${dataDir}/profiles.json`,
        JSON.stringify([caProfile('root-ca', 2), caProfile('intermediate-ca', 1)]),
      );
      await withReopenedAuthority(dataDir, {}, async (a) => {
        const mk = (name: string, parentId?: string, pathLen?: number | null) =>
          a.cas.create({ name, subject: `CN=${name}`, keyType: 'ec-p256', parentId, pathLen }, admin);
        const root = await mk('root');
        const policy = await mk('policy', root.ca.id);
        const issuing = await mk('issuing', policy.ca.id); // the default cut below its parent's 1, as a lifetime is
        const capped = await mk('capped', root.ca.id, 0); // the request's path length overrides the profile's
        expect([root.ca.pathLen, policy.ca.pathLen, issuing.ca.pathLen, capped.ca.pathLen]).toEqual([2, 1, 0, 0]);
        for (const [ca, want] of [
          [root, 'pathlen:2'],
          [policy, 'pathlen:1'],
          [issuing, 'pathlen:0'],
        ] as const) {
          const text = openssl(['x509', '-noout', '-ext', 'basicConstraints', '-in', '@c.pem'], {
            'c.pem': ca.certificatePem!,
          }).output;
          expect(text).toContain(`CA:TRUE, ${want}`);
        }
        const v = opensslVerify({
          leafPem: issuing.certificatePem!,
          chainPems: [policy.certificatePem!],
          rootPem: root.certificatePem!,
          purpose: 'any',
        });
        expect(v.ok, v.output).toBe(true);
      });
    });
  });

  it('a custom CA profile without pathLen keeps the built-in defaults: unlimited root, pathLen 0 below', async () => {
    await withDataDir(async (dataDir) => {
      writeFileSync(
        `${dataDir}/profiles.json`,
        JSON.stringify([caProfile('root-ca', undefined), caProfile('intermediate-ca', undefined)]),
      );
      await withReopenedAuthority(dataDir, {}, async (a) => {
        const root = await a.cas.create({ name: 'root', subject: 'CN=root', keyType: 'ec-p256' }, admin);
        const sub = await a.cas.create(
          { name: 'sub', subject: 'CN=sub', keyType: 'ec-p256', parentId: root.ca.id },
          admin,
        );
        expect([root.ca.pathLen, sub.ca.pathLen]).toEqual([null, 0]);
      });
    });
  });
});
