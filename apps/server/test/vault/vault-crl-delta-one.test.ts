// One delta CRL per database (crl_deltas, crl_delta_claims: migration 0048): two server instances on one database,
// each with its delta CRL schedule running at `delta_rebuild_interval` 1 s, sign one delta per revocation between
// them — whichever holds the CA's delta claim signs and stores it, the other takes the stored one, and a tick that
// finds the interval served by the other signs nothing — so both serve the same bytes. Before session 44 each process
// signed its own delta on its own timer (N instances, N deltas with distinct CRL numbers per interval). No timed
// assertion: the test waits for the scheduled delta's `crl.generated`, then lets two more intervals pass and counts.
// SQLite and PostgreSQL; every CRL read by openssl, certtool and Go, and `openssl verify -crl_check -use_deltas`.
import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { fixedClock, isPkiError, systemClock } from '@pkim/shared';
import type { Authority, AuthorityConfig } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { buildServer } from '@pkim/server';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from '../server-test-support';
import { ocspLeaf } from '../ocsp-test-support';
import {
  crlNumberOf,
  issueWebLeaf,
  serveVaultMount,
  twoInstances,
  vaultCall,
  vaultRaw,
  verifyLeafWithCrls,
  WEB_ROLE,
} from './vault-test-support';

const DELTA_ON = {
  auto_rebuild: true,
  enable_delta: true,
  expiry: '72h',
  auto_rebuild_grace_period: '12h',
  delta_rebuild_interval: '1s',
};

/** polls `probe` until it answers something (a bound on the wait, not a timed assertion) */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await delay(100);
  }
}

const serialKey = (serial: string) => BigInt(`0x${serial.replaceAll(':', '')}`).toString(16);

function oneDeltaTests(open: () => Promise<[Authority, Authority]>) {
  it('one scheduled delta per revocation across both instances; both serve its bytes; openssl takes it', async () => {
    const [a, b] = await open();
    const fa = await serveVaultMount(a, { roles: { web: WEB_ROLE } });
    let appB: FastifyInstance | undefined;
    try {
      // the base names its delta (Freshest CRL): openssl applies a delta only to a base that does
      const urls = await vaultCall(fa, 'POST', 'pki/config/urls', {
        crl_distribution_points: 'http://crl.example.org/pki/full.crl',
        delta_crl_distribution_points: 'http://crl.example.org/pki/delta.crl',
      });
      expect(urls.status, urls.text).toBe(200);
      const cfg = await vaultCall(fa, 'POST', 'pki/config/crl', DELTA_ON);
      expect(cfg.status, cfg.text).toBe(200);
      // B's server starts with delta CRLs on: its schedule runs beside A's (poked as start-server pokes it)
      appB = await buildServer(b, { logger: false, rateLimit: false, backgroundJobs: false });
      const fb = { ...fa, url: await listen(appB) };
      appB.pkim.deltaCrls.poke();
      expect(fa.app.pkim.deltaCrls.armed()).toBe(true);
      expect(appB.pkim.deltaCrls.armed()).toBe(true);

      const base = await vaultRaw(fa, 'pki/crl');
      const baseText = opensslCrlVerify(base, fa.intermediatePem);
      expect(baseText.ok, baseText.text).toBe(true);
      const baseNumber = crlNumberOf(baseText.text);
      expect(Buffer.from(await vaultRaw(fb, 'pki/crl')).equals(Buffer.from(base))).toBe(true);
      const deltaEvents = async () =>
        (await a.audit.list({ action: 'crl.generated', target: fa.caId })).filter(
          (e) => e.details.deltaCrlBase === baseNumber,
        );

      // the first delta (nothing revoked yet), asked of A: stored, B serves it
      const first = await vaultRaw(fa, 'pki/crl/delta');
      expect(Buffer.from(await vaultRaw(fb, 'pki/crl/delta')).equals(Buffer.from(first))).toBe(true);

      const revoked: { pem: string; serial: string }[] = [];
      for (const [round, via] of [fa, fb, fa].entries()) {
        const before = (await deltaEvents()).length;
        const leaf = await issueWebLeaf(via, `round${round}`);
        expect((await vaultCall(via, 'POST', 'pki/revoke', { serial_number: leaf.serial })).status).toBe(200);
        revoked.push(leaf);
        // nobody asks for the delta: a schedule signs it (its `crl.generated` names the base) …
        const scheduled = await until(`round ${round}'s scheduled delta`, async () => {
          const events = await deltaEvents();
          return events.length > before ? events : undefined;
        });
        // … and two more intervals pass: the other instance's ticks find the interval served and sign nothing
        await delay(2_500);
        const events = await deltaEvents();
        expect(events.length, `round ${round}: delta CRLs signed`).toBe(before + 1);
        expect(events).toEqual(scheduled);
        const signed = Math.max(...events.map((e) => Number(e.details.crlNumber)));

        // both instances serve that delta, byte for byte
        const deltaA = await vaultRaw(fa, 'pki/crl/delta');
        const deltaB = await vaultRaw(fb, 'pki/crl/delta');
        expect(Buffer.from(deltaB).equals(Buffer.from(deltaA)), `round ${round}: B serves A's delta`).toBe(true);
        const d = opensslCrlVerify(deltaA, fa.intermediatePem);
        expect(d.ok, d.text).toBe(true);
        expect(crlNumberOf(d.text)).toBe(signed);
        expect(d.text).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${baseNumber}\\b`));
        expect([...d.go.entries.keys()].sort()).toEqual(revoked.map((l) => serialKey(l.serial)).sort());
        for (const l of revoked) {
          const both = verifyLeafWithCrls(fa, l.pem, [base, deltaB], true);
          expect(both.ok, both.output).toBe(false);
          expect(both.output).toMatch(/certificate revoked/);
        }
        expect((await deltaEvents()).length).toBe(before + 1); // the requests signed nothing either
      }
      const good = await issueWebLeaf(fb, 'good');
      const fine = verifyLeafWithCrls(fa, good.pem, [base, await vaultRaw(fb, 'pki/crl/delta')], true);
      expect(fine.ok, fine.output).toBe(true);
    } finally {
      await appB?.close();
      await fa.close();
    }
  }, 120_000);
}

/**
 * the schedule's check (`vault.pki.rebuildDueDeltas`) of each instance called by the test on a clock it moves (their
 * servers' own schedules stopped): an instance whose check comes within the interval after the other signed the
 * delta finds it due one interval after that delta's thisUpdate, and checks nothing
 */
function dueTimeTests(open: (clock: ReturnType<typeof fixedClock>) => Promise<[Authority, Authority]>) {
  it("a check reads the due time from the stored delta's thisUpdate: the other's interval served", async () => {
    // a minute back: the delta signed a second on is not ahead of the wall clock (certtool refuses a future date)
    const clock = fixedClock(Date.now() - 60_000);
    const [a, b] = await open(clock);
    const fa = await serveVaultMount(a);
    try {
      expect((await vaultCall(fa, 'POST', 'pki/config/crl', DELTA_ON)).status).toBe(200);
    } finally {
      await fa.close(); // the server's schedule stops: the test calls the checks
    }
    // both see the mount first: their first window starts
    expect((await a.vault.pki.rebuildDueDeltas()).checked).toEqual([]);
    expect((await b.vault.pki.rebuildDueDeltas()).checked).toEqual([]);
    clock.advance(1000);
    const leaf = await ocspLeaf(a, fa.caId, 'due.example.com');
    await a.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    // A's check signs the delta (one interval after the window's start) …
    const byA = await a.vault.pki.rebuildDueDeltas();
    expect(byA.checked).toHaveLength(1);
    const stored = await a.crl.currentDelta(fa.caId);
    expect(byA.checked[0]).toMatchObject({ caId: fa.caId, crlNumber: stored?.crlNumber, newer: true });
    // … and B's, in the same interval, checks nothing: due one interval after that delta
    clock.advance(500);
    const byB = await b.vault.pki.rebuildDueDeltas();
    expect(byB.checked).toEqual([]);
    expect(byB.nextInMs).toBe(500);
    clock.advance(500);
    const later = await b.vault.pki.rebuildDueDeltas();
    expect(later.checked).toMatchObject([{ caId: fa.caId, crlNumber: stored?.crlNumber }]);
    // one delta of it in the audit log, read by openssl
    const events = (await a.audit.list({ action: 'crl.generated', target: fa.caId })).filter(
      (e) => e.details.deltaCrlBase === stored?.baseCrlNumber,
    );
    expect(events).toHaveLength(1);
    const d = opensslCrlVerify(stored!.der, fa.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(d.text).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${stored?.baseCrlNumber}\\b`));
  }, 120_000);
}

/** a request waits 300 ms (wall time) for a delta another process signs */
const IMPATIENT: AuthorityConfig['crlDeltaBaseClaim'] = { renewMs: 50, waitMs: 300 };

/**
 * the CA's delta claim held by another process (a row the test inserts: that process is slow or died): a request
 * waits a bounded time, then is answered the previous delta of the base while valid, else `crl.delta_pending`
 */
function boundedWaitTests(open: () => Promise<Authority>) {
  it('a delta being signed elsewhere: the previous one while valid, else 503 crl.delta_pending', async () => {
    const a = await open();
    const fa = await serveVaultMount(a);
    try {
      expect((await vaultCall(fa, 'POST', 'pki/config/crl', DELTA_ON)).status).toBe(200);
      // the base first (its own wait is bounded as well: signed in the background past it)
      await until('the base', () => a.crl.current(fa.caId).catch(() => undefined));
      const claims = internalsOf(a).store.crlDeltas;
      const other = { caId: fa.caId, owner: 'another-process', expiresAt: Date.now() + 15_000 };
      expect(await claims.claim(other, Date.now())).toBeUndefined();
      // no delta yet: refused, with the claim's seconds left
      const refused = await a.crl.currentDelta(fa.caId).catch((e: unknown) => e);
      expect(isPkiError(refused) && refused.code, String(refused)).toBe('crl.delta_pending');
      expect(isPkiError(refused) && refused.kind).toBe('unavailable'); // HTTP 503
      const seconds = isPkiError(refused) ? Number(refused.details.retryAfterSeconds) : NaN;
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(15);
      // released: this process signs it (its waiting request's signing took it meanwhile, or this one)
      await claims.release(fa.caId, 'another-process');
      const first = await until('the first delta', async () => {
        const d = await a.crl.currentDelta(fa.caId).catch(() => undefined);
        return d && (await claims.find(fa.caId))?.crlNumber === d.crlNumber ? d : undefined;
      });
      const firstText = opensslCrlVerify(first.der, fa.intermediatePem);
      expect(firstText.ok, firstText.text).toBe(true);
      // revoked, the claim held elsewhere again: the previous delta (still valid) is answered
      const leaf = await ocspLeaf(a, fa.caId, 'wait.example.com');
      await a.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
      expect(await claims.claim({ ...other, expiresAt: Date.now() + 15_000 }, Date.now())).toBeUndefined();
      const previous = await a.crl.currentDelta(fa.caId);
      expect(previous?.crlNumber).toBe(first.crlNumber);
      expect(Buffer.from(previous!.der).equals(Buffer.from(first.der))).toBe(true);
      await claims.release(fa.caId, 'another-process');
    } finally {
      await fa.close();
    }
  }, 120_000);
}

describe('one delta CRL per database: two instances, the schedule at 1 s (one SQLite database)', () => {
  oneDeltaTests(twoInstances(systemClock));
});

describe("a delta being signed by another process: the request's bounded wait (one SQLite database)", () => {
  let fx: AuthorityFixture | undefined;
  afterAll(async () => fx?.close());
  boundedWaitTests(async () => {
    fx = await openAuthorityFixture({ crlDeltaBaseClaim: IMPATIENT });
    return fx.authority;
  });
});

describe("the schedule's due time from the stored delta, two instances (one SQLite database)", () => {
  let clock: ReturnType<typeof fixedClock> | undefined;
  const opener = twoInstances({ now: () => clock!.now() });
  dueTimeTests((c) => {
    clock = c;
    return opener();
  });
});

describe('one delta CRL per database: two instances, the schedule at 1 s (one PostgreSQL database)', () => {
  const hosts = postgresInstances();
  oneDeltaTests(() => hosts.two());
});

describe("a delta being signed by another process: the request's bounded wait (one PostgreSQL database)", () => {
  const hosts = postgresInstances();
  boundedWaitTests(async () => (await hosts.two({ crlDeltaBaseClaim: IMPATIENT }))[0]);
});

describe("the schedule's due time from the stored delta, two instances (one PostgreSQL database)", () => {
  const hosts = postgresInstances();
  dueTimeTests((clock) => hosts.two({ clock }));
});
