// A Vault mount's `ocsp` for a certificate of an issuer just deleted (`DELETE <mount>/issuer/:ref`) through another
// instance on the same database: both instances answer as the deleting one does — `unknown`, signed by the mount's
// default issuer (OpenBao's generateUnknownResponse; vault-ocsp-ca-gone.test.ts) — also while the other instance
// still has the mount as it read it before (its mounts are read again after another instance's commit: at once on
// SQLite, a moment later on PostgreSQL — LISTEN — or after MOUNT_RECHECK_MS) and its issuer index still names the
// deleted CA: until session 42 that instance answered 401 `unauthorized` meanwhile. The mount as the other instance
// read it is given to its `vault.pki.ocsp` by the test (what its request path holds in that moment), without timing.
// Two instances on one SQLite database and two on one PostgreSQL database, their clock standing still; over HTTP
// too, every response read by `openssl ocsp`.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import { fixedClock } from '@pkim/shared';
import { opensslOcspRequest } from '../../../../tests/support/verifiers';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import { ACTORS, listen } from '../server-test-support';
import {
  goneMountWithTwoRoots,
  twoInstances,
  vaultCall,
  vaultOcspAsk as ask,
  vaultOcspRead as read,
} from './vault-test-support';

interface Instance {
  url: string;
  token: string;
}
const pemOf = (s: string) => `${s.trim()}\n`;

function goneTests(open: () => Promise<[Authority, Authority]>) {
  let a: Instance;
  let b: Instance;
  let authorities: [Authority, Authority];
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    authorities = await open();
    const { token } = await authorities[0].auth.createToken(
      { name: 'vault admin', role: 'admin', expiresInMs: null },
      ACTORS.admin,
    );
    const serve = async (authority: Authority): Promise<Instance> => {
      const app = await buildServer(authority, { logger: false, rateLimit: false, backgroundJobs: false });
      apps.push(app);
      return { url: await listen(app), token };
    };
    [a, b] = await Promise.all([serve(authorities[0]), serve(authorities[1])]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  it("a deleted issuer: unknown signed by the default issuer, from both instances (B's mount as before)", async () => {
    const { first, second } = await goneMountWithTwoRoots(a, ['Gone Two First', 'Gone Two Second']);
    const r = await vaultCall(a, 'POST', `gone/issuer/${second.id}/issue/web`, { common_name: 'l.example.com' });
    expect(r.status, r.text).toBe(200);
    const ofSecond = opensslOcspRequest({ issuerPem: second.pem, leafPem: pemOf(r.body.data.certificate) });

    // both instances know the second issuer (in their issuer index now)
    for (const instance of [a, b]) {
      const answer = await ask(instance, 'gone/ocsp', ofSecond);
      expect(answer.status).toBe(200);
      expect(read(answer.der, second.pem)).toBe('good');
    }
    expect((await vaultCall(a, 'POST', `gone/issuer/${second.id}/revoke`)).status).toBe(200);
    const seenByB = (await authorities[1].vault.mounts.findMount('gone/ocsp'))!.mount;
    expect((await vaultCall(a, 'DELETE', `gone/issuer/${second.id}`)).status).toBe(200);
    // B's request in the moment before it hears of the deletion: the mount as it read it, with the deleted issuer
    const stale = await authorities[1].vault.pki.ocsp(seenByB, ofSecond);
    expect(stale.status).toBe(200);
    expect(read(stale.der, first.pem)).toBe('unknown');
    for (const [name, instance] of [
      ['A (deleting)', a],
      ['B', b],
    ] as const) {
      const answer = await ask(instance, 'gone/ocsp', ofSecond);
      expect(answer.status, name).toBe(200);
      expect(read(answer.der, first.pem), name).toBe('unknown');
    }
  });
}

describe("a Vault mount's ocsp for a just-deleted issuer, two instances (one SQLite database)", () => {
  const clock = fixedClock(Date.now()); // both instances'; it stands still: no recheck window passes
  goneTests(twoInstances(clock));
});

describe("a Vault mount's ocsp for a just-deleted issuer, two instances (one PostgreSQL database)", () => {
  const hosts = postgresInstances();
  const clock = fixedClock(Date.now());
  goneTests(() => hosts.two({ clock }));
});
