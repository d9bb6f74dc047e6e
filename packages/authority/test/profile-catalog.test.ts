// Custom profiles made through the authority's profile catalog (profile-service.ts), on SQLite: created, changed and
// deleted with their audit events, issued with at once (openssl reads the leaf's KU, EKU and lifetime), refused with
// `profile.*` codes where a built-in or a file profile is touched, a name clashes, or the profile is in use — nothing
// changed then. A second authority on the same data dir (a CLI beside the server) sees them; the issuance path reads
// no setting per certificate. Two PostgreSQL instances: profile-instances.test.ts.
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixedClock, parseDuration } from '@pkim/shared';
import { PROFILE_RECHECK_MS, type Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { expectLeafOfProfile } from '../../../tests/support/profile-leaf';
import { expectPkiError } from '../../../tests/support/test-kit';
import { admin, keyRequest, withDataDir, withReopenedAuthority } from './fixtures/authority-suite';

const LAB = {
  name: 'lab-client',
  description: 'lab clients: a week',
  isCa: false,
  keyUsage: ['digitalSignature', 'keyAgreement'],
  extKeyUsage: ['clientAuth'],
  extKeyUsageOids: ['1.3.6.1.4.1.32473.9.1'],
  allowedSanTypes: ['dns', 'email'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '7d',
  maxLifetime: '30d',
};
const FILE_PROFILE = { ...LAB, name: 'from-file', defaultLifetime: '1d', maxLifetime: '2d' };
const MINUTE = 60_000;

async function settled(a: Authority) {
  const { store } = internalsOf(a);
  return {
    profiles: (await store.settings.listByPrefix('profile.')).map((r) => r.key),
    events: await store.audit.count(),
  };
}

describe('profiles made through the API (profile catalog), SQLite', () => {
  it('creates, issues with, updates, deletes a profile; audited; built-ins and file profiles read-only', async () => {
    await withDataDir(async (dataDir) => {
      writeFileSync(`${dataDir}/profiles.json`, JSON.stringify([FILE_PROFILE]));
      await withReopenedAuthority(dataDir, {}, async (a) => {
        const root = await a.cas.create({ name: 'r', subject: 'CN=Catalog Root', keyType: 'ec-p256' }, admin);
        const rootPem = root.certificatePem!;
        const issue = (extra = {}) =>
          a.issuance.issueWithKey(keyRequest(root.ca.id, 'lab.example', { profile: 'lab-client', ...extra }), admin);
        await expectPkiError(issue(), 'profile.not_found');

        const made = await a.profileCatalog.create(LAB, admin);
        expect(made.source).toBe('api');
        expect(made.profile.defaultLifetimeMs).toBe(parseDuration('7d'));
        const sources = new Map((await a.profileCatalog.list(admin)).map((e) => [e.profile.name, e.source]));
        expect(sources.get('lab-client')).toBe('api');
        expect(sources.get('from-file')).toBe('file');
        expect(sources.get('tls-server')).toBe('built-in');
        expect(a.profiles().map((p) => p.name)).toContain('lab-client');

        const leaf = await issue();
        expectLeafOfProfile({
          leafPem: leaf.certificatePem,
          chainPems: [],
          rootPem,
          purpose: 'sslclient',
          profile: { ...LAB, lifetimeMs: parseDuration('7d') + MINUTE },
        });

        // changed: the next certificate has the new key usage, EKU and lifetime
        await a.profileCatalog.update(
          'lab-client',
          { ...LAB, keyUsage: ['digitalSignature'], extKeyUsage: ['serverAuth', 'clientAuth'], defaultLifetime: '3d' },
          admin,
        );
        const changed = await issue();
        expectLeafOfProfile({
          leafPem: changed.certificatePem,
          chainPems: [],
          rootPem,
          purpose: 'sslserver',
          profile: {
            keyUsage: ['digitalSignature'],
            extKeyUsage: ['serverAuth', 'clientAuth'],
            extKeyUsageOids: LAB.extKeyUsageOids,
            lifetimeMs: parseDuration('3d') + MINUTE,
          },
        });

        const events = await a.audit.list({ limit: 100 });
        const created = events.find((e) => e.action === 'profile.created');
        expect(created?.target).toBe('lab-client');
        expect(created?.details.profile).toMatchObject({ keyUsage: LAB.keyUsage, defaultLifetimeMs: 7 * 86_400_000 });
        const updated = events.find((e) => e.action === 'profile.updated');
        expect(updated?.details.profile).toMatchObject({ keyUsage: ['digitalSignature'] });

        // refused, nothing changed: clashes, read-only profiles, invalid input
        const before = await settled(a);
        for (const name of ['tls-server', 'from-file', 'lab-client']) {
          const e = await expectPkiError(a.profileCatalog.create({ ...LAB, name }, admin), 'profile.exists');
          expect(e.kind).toBe('conflict');
        }
        await expectPkiError(a.profileCatalog.update('tls-server', LAB, admin), 'profile.read_only');
        await expectPkiError(a.profileCatalog.update('from-file', FILE_PROFILE, admin), 'profile.read_only');
        await expectPkiError(a.profileCatalog.delete('root-ca', admin), 'profile.read_only');
        await expectPkiError(a.profileCatalog.delete('from-file', admin), 'profile.read_only');
        await expectPkiError(a.profileCatalog.delete('nope', admin), 'profile.not_found');
        const bad = await expectPkiError(
          a.profileCatalog.create({ ...LAB, name: 'bad', keyUsage: ['keyCertSign'] }, admin),
          'profile.invalid',
        );
        expect(bad.message).toMatch(/keyCertSign/);
        await expectPkiError(
          a.profileCatalog.create({ ...LAB, name: 'bad', defaultLifetime: 'soon' }, admin),
          'profile.invalid',
        );
        await expectPkiError(
          a.profileCatalog.update('lab-client', { ...LAB, name: 'other' }, admin),
          'profile.invalid',
        );
        await expectPkiError(
          a.profileCatalog.create({ ...LAB, name: 'x' }, { id: 'usr_op', role: 'operator' }),
          'auth.forbidden',
        );
        expect(await settled(a)).toEqual(before);

        await a.profileCatalog.delete('lab-client', admin);
        const deleted = (await a.audit.list({ limit: 100 })).find((e) => e.action === 'profile.deleted');
        expect(deleted?.details.profile).toMatchObject({ name: 'lab-client' });
        await expectPkiError(issue(), 'profile.not_found');
      });
    });
  }, 60_000);

  it('refuses to delete a profile a pending request, an ACME directory or a token limit uses, naming it', async () => {
    await withDataDir(async (dataDir) => {
      await withReopenedAuthority(dataDir, {}, async (a) => {
        const root = await a.cas.create({ name: 'r', subject: 'CN=In Use Root', keyType: 'ec-p256' }, admin);
        await a.profileCatalog.create(LAB, admin);
        const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=lab.example', sans: ['DNS:lab.example'] });
        const req = await a.requests.submit({ caId: root.ca.id, csrPem: csr.csrPem, profile: 'lab-client' }, admin);
        const inUse = async (what: RegExp) => {
          const before = await settled(a);
          const e = await expectPkiError(a.profileCatalog.delete('lab-client', admin), 'profile.in_use');
          expect(e.message).toMatch(what);
          expect(e.kind).toBe('conflict');
          expect(await settled(a)).toEqual(before);
        };
        await inUse(new RegExp(`pending request ${req.id}`));
        await a.requests.reject(req.id, 'no', admin);

        await a.acme.enable({ ca: root.ca.id, profile: 'lab-client' }, admin);
        await inUse(new RegExp(`ACME directory of CA ${root.ca.id}`));
        await a.acme.disable(root.ca.id, admin);

        const token = await a.auth.createToken(
          { name: 'lab-bot', role: 'operator', scopes: [], resources: { profiles: ['lab-client'] } },
          admin,
        );
        await inUse(/API token lab-bot/);
        await a.auth.revokeToken(token.id, admin);

        await a.profileCatalog.delete('lab-client', admin);
        expect((await settled(a)).profiles).toEqual([]);
      });
    });
  }, 60_000);

  it('another authority on the data dir sees the profiles; issuing reads no setting per certificate', async () => {
    await withDataDir(async (dataDir) => {
      const clock = fixedClock(Date.now());
      await withReopenedAuthority(dataDir, { clock }, async (server) => {
        const root = await server.cas.create({ name: 'r', subject: 'CN=Two Root', keyType: 'ec-p256' }, admin);
        const issue = () =>
          server.issuance.issueWithKey(keyRequest(root.ca.id, 'lab.example', { profile: 'lab-client' }), admin);
        await expectPkiError(issue(), 'profile.not_found'); // the server has read the profiles: none
        // another process (a local CLI) makes the profile: the server's next request with its name finds it at once
        await withReopenedAuthority(dataDir, { clock }, (cli) => cli.profileCatalog.create(LAB, admin));
        const first = await issue();
        expect(first.certificate.notAfter - first.certificate.notBefore).toBe(parseDuration('7d') + MINUTE);

        // issuing reads no setting while nothing else committed, whatever the clock says
        const settings = internalsOf(server).store.settings;
        const listByPrefix = settings.listByPrefix.bind(settings);
        let reads = 0;
        settings.listByPrefix = (prefix) => {
          if (prefix === 'profile.') reads++;
          return listByPrefix(prefix);
        };
        try {
          for (let i = 0; i < 5; i++) {
            await issue();
            clock.advance(PROFILE_RECHECK_MS);
          }
          expect(reads).toBe(0);
          await issue(); // the view's time starts again (nothing else committed: no read)
          expect(reads).toBe(0);

          // the CLI changes it: the server applies it once PROFILE_RECHECK_MS passed (one read), not before
          await withReopenedAuthority(dataDir, { clock }, (cli) =>
            cli.profileCatalog.update('lab-client', { ...LAB, defaultLifetime: '2d' }, admin),
          );
          const stale = await issue();
          expect(stale.certificate.notAfter - stale.certificate.notBefore).toBe(parseDuration('7d') + MINUTE);
          clock.advance(PROFILE_RECHECK_MS);
          const fresh = await issue();
          expect(fresh.certificate.notAfter - fresh.certificate.notBefore).toBe(parseDuration('2d') + MINUTE);
          expect(reads).toBe(1);
        } finally {
          settings.listByPrefix = listByPrefix;
        }
      });
    });
  }, 60_000);
});
