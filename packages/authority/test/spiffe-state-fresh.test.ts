// The SVID route keeps the SPIFFE CAs it read between requests (spiffe-service.ts `signingState`, issue #12) while
// nothing says they changed: a rotation, a revoked CA, a trust domain set up again must reach the very next request —
// made by this authority, by another process on the same SQLite data directory, or by another instance on the same
// PostgreSQL database. Every clock here is frozen, so the STATE_RECHECK_MS bound never ends what is kept: only the
// signals can. Every SVID is verified by openssl against the bundle's root.
import { describe, expect, it } from 'vitest';
import { createAuthority, type Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { fixedClock } from '@pkim/shared';
import { tempDir } from '../../../tests/support/openssl-tools';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, silentLogger, TEST_ADMIN } from '../../../tests/support/test-kit';
import { svidCsr, spiffeIdFor, TD } from '../../../tests/support/spiffe-kit';

const hosts = postgresInstances();

async function tokenOf(a: Authority): Promise<string> {
  return (await a.auth.createToken({ name: 'workloads', role: 'operator', scopes: ['spiffe:sign'] }, TEST_ADMIN)).token;
}

let n = 0;
/** an SVID for a new node ID from `a`, verified by openssl: the id of the CA that issued it (of `ids`) */
async function svidFrom(a: Authority, token: string, ids: string[]): Promise<string | undefined> {
  const instanceId = `n-${++n}`;
  const id = spiffeIdFor('node', instanceId);
  const r = await a.spiffe.sign(
    { csrPem: svidCsr(id).csrPem, serviceType: 'node', instanceId },
    { bearerToken: token },
  );
  const bundle = await a.spiffe.bundle();
  const v = opensslVerify({
    leafPem: r.certificatePem,
    chainPems: r.chain,
    rootPem: bundle.servicesBundle[bundle.servicesBundle.length - 1]!,
  });
  expect(v.ok, v.output).toBe(true);
  for (const id of ids) if ((await a.cas.get(id)).ca.certificatePem?.trim() === r.chain[0]!.trim()) return id;
  return undefined;
}

const refused = (a: Authority, token: string) =>
  a.spiffe.sign(
    { csrPem: svidCsr(spiffeIdFor('node', 'refused')).csrPem, serviceType: 'node', instanceId: 'refused' },
    { bearerToken: token },
  );

/** asks `ok` every 25 ms, at most 10 s of real time (the authorities' clocks do not move) */
async function within10s<T>(what: string, ask: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const v = await ask();
    if (ok(v)) return v;
    if (i >= 400) throw new Error(`never: ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

/**
 * `a` signs through its kept state while `b` (this authority, or another process/instance) rotates the services CA,
 * revokes it, and sets SPIFFE up again; `seen` waits until a change may have reached `a` (PostgreSQL: its NOTIFY)
 */
async function changesReachTheNextSvid(
  a: Authority,
  b: Authority,
  seen: <T>(ask: () => Promise<T>, ok: (v: T) => boolean) => Promise<T>,
) {
  const token = await tokenOf(a);
  const init = await b.spiffe.init({ trustDomain: TD }, TEST_ADMIN);
  const first = init.servicesCaId;
  expect(await svidFrom(a, token, [first])).toBe(first);
  expect(await svidFrom(a, token, [first])).toBe(first); // kept: the same CA

  const rotated = await b.spiffe.rotate({ role: 'services' }, TEST_ADMIN);
  const ids = [first, rotated.newCaId];
  expect(
    await seen(
      () => svidFrom(a, token, ids),
      (ca) => ca === rotated.newCaId,
    ),
  ).toBe(rotated.newCaId);

  await b.cas.revokeCa(rotated.newCaId, 'keyCompromise', TEST_ADMIN, { cascade: false });
  const e = await seen(
    () =>
      refused(a, token).then(
        () => undefined,
        (x: unknown) => x,
      ),
    (x) => x !== undefined,
  );
  expect((e as { code?: string }).code).toMatch(/^(ca\.|spiffe\.)/);
  await expectPkiError(refused(a, token), (e as { code: string }).code);
}

describe('the SVID route sees SPIFFE CA changes at the next request', () => {
  it('made by this authority', async () => {
    const tmp = tempDir('pkim-spiffe-fresh-');
    const a = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock: fixedClock(Date.now()) });
    try {
      await changesReachTheNextSvid(a, a, (ask) => ask());
    } finally {
      await a.close();
      tmp.cleanup();
    }
  }, 60_000);

  it('made by another process on the same SQLite data directory', async () => {
    const tmp = tempDir('pkim-spiffe-fresh-');
    const a = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock: fixedClock(Date.now()) });
    const b = await createAuthority({ dataDir: tmp.dir, logger: silentLogger, clock: fixedClock(Date.now()) });
    try {
      await changesReachTheNextSvid(a, b, (ask) => ask());
    } finally {
      await b.close();
      await a.close();
      tmp.cleanup();
    }
  }, 60_000);

  it('made by another instance on the same PostgreSQL database (its announcement)', async () => {
    const [a, b] = await hosts.two(() => ({ clock: fixedClock(Date.now()) }));
    await changesReachTheNextSvid(a, b, (ask, ok) => within10s('the change reached instance A', ask, ok));
    // a commit that changes only a SPIFFE CA row (the second half of a rotation: the new CA row was announced by
    // the commit before it) is announced too, so A never keeps a state read between the two
    const others = () => Promise.resolve(internalsOf(a).store.otherCommits);
    const before = await others();
    const rows = await internalsOf(b).store.spiffe.listCas();
    const retiring = rows.find((r) => r.status === 'retiring')!;
    await internalsOf(b).store.commit({ updateSpiffeCas: [{ id: retiring.id, patch: { keepUntil: Date.now() } }] });
    await within10s('the SPIFFE CA change announced to A', others, (v) => v !== before);
  }, 120_000);
});
