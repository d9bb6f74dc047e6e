// createAuthority's options, each on its own SQLite data dir: fault injection at the database write, the injected
// clock, custom profiles from <data dir>/profiles.json. The services on both engines: authority-issuance.test.ts and
// authority-revocation.test.ts.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixedClock, parseDuration } from '@pkim/shared';
import { createAuthority } from '@pkim/authority';
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
      });
      writeFileSync(`${dataDir}/profiles.json`, JSON.stringify([{ name: 'Bad Name', isCa: false }]));
      await expectPkiError(createAuthority({ dataDir, logger: silent }), 'profile.invalid');
    });
  });
});
