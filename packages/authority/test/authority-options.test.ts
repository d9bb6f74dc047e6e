// createAuthority's options, each on its own SQLite data dir: fault injection at the database write, the injected
// clock, custom profiles from <data dir>/profiles.json. The services on both engines: authority-issuance.test.ts and
// authority-revocation.test.ts.
import { describe, expect, it } from 'vitest';
import { fixedClock, parseDuration } from '@pkim/shared';
import { createAuthority } from '@pkim/authority';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, silent } from './fixtures/authority-suite';

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
