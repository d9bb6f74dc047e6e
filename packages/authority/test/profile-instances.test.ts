// Custom profiles made through the API on two PostgreSQL instances (profile-service.ts): B issues with a profile A
// just made, without a restart (a name B does not know is read at once); A's change and deletion reach B once the
// commit's NOTIFY moved B's Store.otherCommits and PROFILE_RECHECK_MS passed on B's clock (frozen here: only B's
// clock moving ends B's view). openssl reads each leaf's KU, EKU and lifetime.
import { describe, expect, it } from 'vitest';
import { fixedClock, parseDuration } from '@pkim/shared';
import { PROFILE_RECHECK_MS } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { rootAndIssuing } from '../../../tests/support/ca-kit';
import { expectLeafOfProfile } from '../../../tests/support/profile-leaf';
import { eventually, expectPkiError, TEST_ADMIN } from '../../../tests/support/test-kit';

const hosts = postgresInstances();
const LAB = {
  name: 'lab-client',
  isCa: false,
  keyUsage: ['digitalSignature', 'keyAgreement'],
  extKeyUsage: ['clientAuth'],
  extKeyUsageOids: ['1.3.6.1.4.1.32473.9.2'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '5d',
  maxLifetime: '30d',
};

describe('profiles made through the API on two PostgreSQL instances', () => {
  it('B issues with the profile A made at once, applies its change and deletion after the NOTIFY', async () => {
    const clocks = [fixedClock(Date.now()), fixedClock(Date.now())] as const;
    const [a, b] = await hosts.two((i) => ({ clock: clocks[i] }));
    const { root, issuing } = await rootAndIssuing(a, 'pg-profiles');
    const issueOnB = () =>
      b.issuance.issueWithKey(
        {
          caId: issuing.id,
          profile: 'lab-client',
          subject: 'CN=lab.example',
          sans: { dns: ['lab.example'] },
          keyType: 'ec-p256',
        },
        TEST_ADMIN,
      );
    const bStore = internalsOf(b).store;
    /** A's write announced to B: B's Store.otherCommits moved (the NOTIFY arrives a moment after the commit) */
    const announced = async (write: () => Promise<unknown>) => {
      const before = bStore.otherCommits;
      await write();
      const after = await eventually(
        async () => bStore.otherCommits,
        (v) => v !== before,
      );
      expect(after, 'B heard of the commit').not.toBe(before);
    };

    await expectPkiError(issueOnB(), 'profile.not_found');
    await a.profileCatalog.create(LAB, TEST_ADMIN);
    const made = await issueOnB();
    const check = (pem: string, lifetime: string, keyUsage = LAB.keyUsage) =>
      expectLeafOfProfile({
        leafPem: pem,
        chainPems: [issuing.pem],
        rootPem: root.pem,
        purpose: 'sslclient',
        profile: { ...LAB, keyUsage, lifetimeMs: parseDuration(lifetime) + 60_000 },
      });
    check(made.certificatePem, '5d');
    expect((await b.profileCatalog.list(TEST_ADMIN)).find((e) => e.profile.name === 'lab-client')?.source).toBe('api');

    await announced(() =>
      a.profileCatalog.update(
        'lab-client',
        { ...LAB, keyUsage: ['digitalSignature'], defaultLifetime: '2d' },
        TEST_ADMIN,
      ),
    );
    check((await issueOnB()).certificatePem, '5d'); // B's view is younger than PROFILE_RECHECK_MS
    clocks[1].advance(PROFILE_RECHECK_MS);
    check((await issueOnB()).certificatePem, '2d', ['digitalSignature']);

    await announced(() => a.profileCatalog.delete('lab-client', TEST_ADMIN));
    clocks[1].advance(PROFILE_RECHECK_MS);
    await expectPkiError(issueOnB(), 'profile.not_found');
  }, 120_000);
});
