// Two instances on one database reaching a delta CRL base's grace period together (a Vault mount's `enable_delta`,
// its `auto_rebuild_grace_period`): one signs the new base — it holds the CA's claim (crl_delta_base_claims, migration
// 0046) — and the other waits for that base and serves it, so both serve one base and their deltas name it. A claim
// whose process died is taken over once it expired. Deterministic: the first instance's signature is held by the test
// (holdNextSignature) until the second has found the claim taken; the clock (both instances') is moved by the test.
// Session 43: the holder renews its claim while it signs (a slow signer outlasting the claim's lifetime keeps it), a
// holder that stops renewing is taken over within the lifetime and, stale, stores nothing; a request's wait for a base
// is bounded (the previous base while valid, else `crl.base_pending`). Renewals are seen, not timed: the clock moves
// by less than the lifetime, then the test waits for the holder's renewal from that clock.
// SQLite and PostgreSQL; every CRL read by openssl, certtool and Go, and `openssl verify -crl_check -use_deltas`.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, isPkiError } from '@pkim/shared';
import type { Authority, AuthorityConfig } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslCrlVerify, opensslCrlVerifyOnly } from '../../../../tests/support/verifiers';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  openAuthorityFixture,
  type AuthorityFixture,
} from '../server-test-support';
import { holdNextSignature, ocspLeaf } from '../ocsp-test-support';
import {
  crlNumberOf,
  openVaultFixture,
  vaultCall,
  vaultRaw,
  verifyLeafWithCrls,
  type VaultFixture,
  enableDeltaCrl,
} from './vault-test-support';

const HOUR = 3_600_000;
/** the claim's lifetime (clock time): the default */
const LIFETIME = 15_000;
/** the instances renew often (wall time), so that a test waits little for a renewal; A and B wait for a base long */
const CLAIM: AuthorityConfig['crlDeltaBaseClaim'] = { renewMs: 50, waitMs: 120_000 };
/** C waits for a base 300 ms (wall time) */
const IMPATIENT: AuthorityConfig['crlDeltaBaseClaim'] = { renewMs: 50, waitMs: 300 };
interface Crl {
  der: Uint8Array;
  crlNumber: number;
}

/**
 * resolves each time `authority` finds the claim to sign a base held by another process (its store's claim answers
 * one): a waiting instance, seen without timing
 */
function claimsHeld(authority: Authority) {
  const repo = internalsOf(authority).store.crlDeltaBases;
  const claim = repo.claim.bind(repo);
  let next: (() => void) | undefined;
  repo.claim = async (c, now) => {
    const held = await claim(c, now);
    if (held) next?.();
    return held;
  };
  return {
    /** the next time the claim is found held */
    next: () => new Promise<void>((r) => (next = r)),
  };
}

/** the CRL Number extension's OID (2.5.29.20), DER: in a CRL's TBSCertList, not in an OCSP response or certificate */
const CRL_NUMBER_OID = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);

/**
 * `authority`'s signer made slow: its next signature of a CRL waits, before signing, until `go` (a real software key
 * signs then; the OCSP responses a revocation presigns in the background are not held); `entered` once it waits,
 * `signed` the data it signed
 */
function slowSigner(authority: Authority) {
  const keys = internalsOf(authority).keys;
  const signer = keys.signer.bind(keys);
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  let entered!: () => void;
  const waiting = new Promise<void>((r) => (entered = r));
  let used = false;
  let signed: Uint8Array | undefined;
  keys.signer = (ref) => {
    const s = signer(ref);
    const sign = async (data: Uint8Array) => {
      if (!used && Buffer.from(data).includes(CRL_NUMBER_OID)) {
        used = true;
        entered();
        await gate;
        signed = data;
      }
      return s.sign(data);
    };
    return Object.assign(Object.create(s) as typeof s, { sign });
  };
  return {
    entered: waiting,
    go,
    signed: () => signed,
    restore() {
      go();
      keys.signer = signer;
    },
  };
}

/**
 * `authority`'s renewals of its claims, seen: `past(t)` resolves true at a renewal kept to `t` or later (false after
 * 3 s wall time without one); `stall()` makes its renewals fail (its database out of reach, its process dead)
 */
function renewals(authority: Authority) {
  const repo = internalsOf(authority).store.crlDeltaBases;
  const renew = repo.renew.bind(repo);
  let waiter: { until: number; resolve: (ok: boolean) => void } | undefined;
  let stalled = false;
  repo.renew = async (caId, owner, expiresAt) => {
    if (stalled) throw new Error('the database is out of reach');
    const kept = await renew(caId, owner, expiresAt);
    if (kept && waiter && expiresAt >= waiter.until) waiter.resolve(true);
    return kept;
  };
  return {
    past: (until: number) =>
      new Promise<boolean>((resolve) => {
        waiter = { until, resolve };
        setTimeout(() => resolve(false), 3_000);
      }),
    stall: () => (stalled = true),
    restore: () => (repo.renew = renew),
  };
}

function claimTests(open: () => Promise<[Authority, Authority, Authority]>, clock: ReturnType<typeof fixedClock>) {
  let a: Authority;
  let b: Authority;
  let c: Authority;
  let pki: { rootPem: string; intermediatePem: string; caId: string };

  beforeAll(async () => {
    [a, b, c] = await open();
    const root = await createRootCa(a, 'Claim Root');
    const inter = await createIssuingCa(a, root, 'Claim Issuing');
    pki = { rootPem: root.pem, intermediatePem: inter.pem, caId: inter.id };
    await a.vault.mounts.mount({ path: 'pki', ca: inter.id, maxLeaseTtl: '87600h' }, ACTORS.admin);
    await a.vault.mounts.writeUrls(
      'pki',
      {
        crl_distribution_points: 'http://crl.example.org/pki/full.crl',
        delta_crl_distribution_points: 'http://crl.example.org/pki/delta.crl',
      },
      ACTORS.admin,
    );
    // a base is kept for its first hour (72 h − 71 h): the test's clock moves by hours, openssl's stays now
    await a.vault.mounts.writeCrlConfig(
      'pki',
      { auto_rebuild: true, enable_delta: true, expiry: '72h', auto_rebuild_grace_period: '71h' },
      ACTORS.admin,
    );
  }, 120_000);

  /** a CRL of the intermediate as openssl (and certtool, Go) read it: its CRL number and Delta CRL Indicator */
  function read(crl: Crl): { number: number; base: number | undefined } {
    const r = opensslCrlVerify(crl.der, pki.intermediatePem);
    expect(r.ok, r.text).toBe(true);
    expect(crlNumberOf(r.text)).toBe(crl.crlNumber);
    const base = /X509v3 Delta CRL Indicator: critical\s*\n\s*(\d+)/.exec(r.text)?.[1];
    return { number: crlNumberOf(r.text), base: base === undefined ? undefined : Number(base) };
  }

  const same = (x: Crl, y: Crl) => Buffer.from(x.der).equals(Buffer.from(y.der));

  it('both reach the grace period together: one signs the base, the other waits for it and serves it', async () => {
    const first = await a.crl.current(pki.caId);
    expect(read(first).base).toBeUndefined();
    expect(same(await b.crl.current(pki.caId), first)).toBe(true); // B serves A's base
    const early = await ocspLeaf(a, pki.caId, 'early.example.com');
    await a.certificates.revoke(early.id, 'keyCompromise', ACTORS.admin);

    clock.advance(HOUR + 1); // the base's grace period: both make a new one at their next request
    const held = holdNextSignature(a);
    const waiting = claimsHeld(b);
    try {
      const fromA = a.crl.current(pki.caId);
      await held.signing; // A has signed its base (it holds the claim), not stored it yet
      const bWaits = waiting.next();
      const fromB = b.crl.current(pki.caId);
      await Promise.race([bWaits, fromB]); // B found the claim taken (or, unclaimed, signed a base of its own)
      held.release();
      const [baseA, baseB] = await Promise.all([fromA, fromB]);
      expect(baseB.crlNumber).toBe(baseA.crlNumber);
      expect(same(baseB, baseA), 'B serves the base A signed').toBe(true);
      expect(baseA.crlNumber).toBeGreaterThan(first.crlNumber);
      expect(read(baseA).base).toBeUndefined();
    } finally {
      held.restore();
    }
    const base = await a.crl.current(pki.caId);
    expect(same(await b.crl.current(pki.caId), base)).toBe(true);

    // a revocation through B after the new base: B's delta and A's are of that base
    const late = await ocspLeaf(b, pki.caId, 'late.example.com');
    await b.certificates.revoke(late.id, 'keyCompromise', ACTORS.admin);
    const deltaB = (await b.crl.currentDelta(pki.caId))!;
    const deltaA = (await a.crl.currentDelta(pki.caId))!;
    for (const delta of [deltaA, deltaB]) {
      expect(read(delta).base).toBe(base.crlNumber);
      expect(delta.baseCrlNumber).toBe(base.crlNumber);
    }
    const good = await ocspLeaf(a, pki.caId, 'good.example.com');
    for (const delta of [deltaA, deltaB]) {
      for (const leaf of [early, late]) {
        const r = verifyLeafWithCrls(pki, leaf.pem, [base.der, delta.der], true);
        expect(r.output).toMatch(/certificate revoked/);
      }
      const r = verifyLeafWithCrls(pki, good.pem, [base.der, delta.der], true);
      expect(r.ok, r.output).toBe(true);
    }
  });

  it('a claim whose process died is taken over once it expired', async () => {
    const before = await a.crl.current(pki.caId);
    clock.advance(HOUR + 1); // the grace period of that base
    // a process took the claim and died before storing a base (its claim as written: the lifetime from then)
    const now = clock.now();
    const dead = { caId: pki.caId, owner: 'a-process-that-died', expiresAt: now + LIFETIME };
    expect(await internalsOf(a).store.crlDeltaBases.claim(dead, now)).toBeUndefined();
    const waiting = claimsHeld(b);
    const bWaits = waiting.next();
    const fromB = b.crl.current(pki.caId);
    // B waits for the dead process's base
    expect(await Promise.race([bWaits.then(() => 'waits'), fromB.then(() => 'signed')])).toBe('waits');
    clock.advance(LIFETIME); // its claim expired: B takes it over and signs
    const base = await fromB;
    expect(base.crlNumber).toBeGreaterThan(before.crlNumber);
    expect(read(base).base).toBeUndefined();
    expect(same(await a.crl.current(pki.caId), base)).toBe(true); // and A serves it
    const delta = (await a.crl.currentDelta(pki.caId))!;
    expect(read(delta).base).toBe(base.crlNumber);
    const good = await ocspLeaf(a, pki.caId, 'good2.example.com');
    const r = verifyLeafWithCrls(pki, good.pem, [base.der, delta.der], true);
    expect(r.ok, r.output).toBe(true);
  });

  /** `crl.generated` of complete CRLs (no `deltaCrlBase`) and `crl.generate_failed` of the CA after `seq` */
  async function events(afterSeq: number) {
    const all = await a.audit.list({ target: pki.caId, afterSeq, limit: 1000 });
    const bases = all.filter((e) => e.action === 'crl.generated' && !('deltaCrlBase' in (e.details ?? {})));
    return { bases: bases.length, failed: all.filter((e) => e.action === 'crl.generate_failed').length };
  }
  /** the CA's last CRL number (its complete CRLs' and deltas' counter), from its last `crl.generated` */
  async function lastNumber(): Promise<number> {
    const [last] = await a.audit.list({ target: pki.caId, action: 'crl.generated', order: 'desc', limit: 1 });
    return Number(last?.details?.crlNumber);
  }
  const lastSeq = async () => (await a.audit.list({ target: pki.caId, order: 'desc', limit: 1 }))[0]?.seq ?? 0;

  it('a holder whose signing outlasts the claim lifetime renews its claim: one base, the other serves it', async () => {
    await a.crl.current(pki.caId);
    const late = await ocspLeaf(a, pki.caId, 'slow.example.com');
    await a.certificates.revoke(late.id, 'keyCompromise', ACTORS.admin);
    clock.advance(HOUR + 1); // the base's grace period
    const seq = await lastSeq();
    const number = await lastNumber();
    const slow = slowSigner(a);
    const renewed = renewals(a);
    const waiting = claimsHeld(b);
    try {
      const fromA = a.crl.current(pki.caId);
      await slow.entered; // A holds the claim, its signature waits
      const bWaits = waiting.next();
      const fromB = b.crl.current(pki.caId);
      await Promise.race([bWaits, fromB]);
      // four steps of 2/3 of the lifetime each (2.7 lifetimes in all), each followed by A's renewal from that clock
      for (let step = 0; step < 4; step++) {
        clock.advance((LIFETIME * 2) / 3);
        const ok = await renewed.past(clock.now() + LIFETIME);
        expect.soft(ok, `A renewed its claim at step ${step}`).toBe(true);
        await delay(100); // B looks meanwhile (every 25 ms): the claim is A's
      }
      slow.go();
      const [baseA, baseB] = await Promise.all([fromA, fromB]);
      expect(same(baseB, baseA), 'B serves the base A signed').toBe(true);
      // one base, with the next CRL number (none skipped), the one A signed; no signing failed
      expect(baseA.crlNumber).toBe(number + 1);
      expect(Buffer.from(baseA.der).includes(Buffer.from(slow.signed()!))).toBe(true);
      expect(await events(seq)).toEqual({ bases: 1, failed: 0 });
      expect(read(baseA).base).toBeUndefined();
    } finally {
      slow.restore();
      renewed.restore();
    }
    const base = await b.crl.current(pki.caId);
    const delta = (await b.crl.currentDelta(pki.caId))!;
    expect(read(delta).base).toBe(base.crlNumber);
    const good = await ocspLeaf(b, pki.caId, 'good3.example.com');
    expect(verifyLeafWithCrls(pki, late.pem, [base.der, delta.der], true).output).toMatch(/certificate revoked/);
    const r = verifyLeafWithCrls(pki, good.pem, [base.der, delta.der], true);
    expect(r.ok, r.output).toBe(true);
  });

  it('a holder that stops renewing is taken over within the lifetime and, stale, cannot store its base', async () => {
    const before = await a.crl.current(pki.caId);
    const stale = await ocspLeaf(a, pki.caId, 'stale.example.com');
    await a.certificates.revoke(stale.id, 'keyCompromise', ACTORS.admin);
    clock.advance(HOUR + 1);
    const seq = await lastSeq();
    const slow = slowSigner(a);
    const renewed = renewals(a);
    const waiting = claimsHeld(b);
    try {
      const fromA = a.crl.current(pki.caId);
      await slow.entered; // A holds the claim (the lifetime from now), its signature waits
      renewed.stall(); // A's renewals fail from now on: its claim is left as it was
      const bWaits = waiting.next();
      const fromB = b.crl.current(pki.caId);
      expect(await Promise.race([bWaits.then(() => 'waits'), fromB.then(() => 'signed')])).toBe('waits');
      clock.advance(LIFETIME); // the lifetime passed: B takes the claim over and signs
      const baseB = await Promise.race([fromB, delay(5_000).then(() => undefined)]);
      expect(baseB, 'B took the claim over within the lifetime').toBeDefined();
      expect(read(baseB!).base).toBeUndefined();
      // A signs now: its claim was taken over, its base is not stored; A serves B's
      slow.go();
      const baseA = await fromA;
      expect(same(baseA, baseB!), 'A serves the base B signed').toBe(true);
      expect(await internalsOf(a).store.crlDeltaBases.crlNumber(pki.caId)).toBe(baseB!.crlNumber);
      expect(same(await a.crl.current(pki.caId), baseB!)).toBe(true);
      expect(baseB!.crlNumber).toBeGreaterThan(before.crlNumber);
      // B's base generated; A's recorded as failed (crl.base_claim_lost)
      expect(await events(seq)).toEqual({ bases: 1, failed: 1 });
      const failed = await a.audit.list({ target: pki.caId, action: 'crl.generate_failed', order: 'desc', limit: 1 });
      expect(failed[0]?.details).toMatchObject({ code: 'crl.base_claim_lost' });
      const delta = (await a.crl.currentDelta(pki.caId))!;
      expect(read(delta).base).toBe(baseB!.crlNumber);
      const good = await ocspLeaf(a, pki.caId, 'good4.example.com');
      const r = verifyLeafWithCrls(pki, good.pem, [baseB!.der, delta.der], true);
      expect(r.ok, r.output).toBe(true);
      expect(verifyLeafWithCrls(pki, stale.pem, [baseB!.der, delta.der], true).output).toMatch(/certificate revoked/);
    } finally {
      slow.restore();
      renewed.restore();
    }
  });

  it('a request waits for a base at most its budget: the previous base while valid, else base_pending', async () => {
    const previous = await c.crl.current(pki.caId); // C's own copy of the stored base
    clock.advance(HOUR + 1); // its grace period, still within its nextUpdate
    const now = clock.now();
    const store = internalsOf(a).store.crlDeltaBases;
    const dead = { caId: pki.caId, owner: 'a-process-that-died', expiresAt: now + LIFETIME };
    expect(await store.claim(dead, now)).toBeUndefined();
    // C waits 300 ms (the clock stands still: the claim holds), then answers the previous base
    expect(same(await c.crl.current(pki.caId), previous)).toBe(true);
    // past the previous base's nextUpdate, the dead process's claim held still (moved before the clock: C keeps
    // looking for it in the background): nothing valid to answer
    const later = previous.nextUpdate + 1;
    expect(await store.renew(pki.caId, dead.owner, later + LIFETIME)).toBe(true);
    clock.advance(later - clock.now());
    const refused = await c.crl.current(pki.caId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPkiError(refused) && refused.code, String(refused)).toBe('crl.base_pending');
    expect(isPkiError(refused) && refused.kind).toBe('unavailable'); // HTTP 503
    // the claim expired: the next request's wait signs one (C takes it over)
    clock.advance(LIFETIME);
    const base = await c.crl.current(pki.caId);
    expect(base.nextUpdate).toBeGreaterThan(clock.now());
    // its thisUpdate is days ahead of the wall clock (certtool refuses a future date): openssl checks its signature
    const r = opensslCrlVerifyOnly(base.der, pki.intermediatePem);
    expect(r.ok, r.text).toBe(true);
    expect(crlNumberOf(r.text)).toBe(base.crlNumber);
    expect(r.text).not.toMatch(/Delta CRL Indicator/);
  });
}

// the clock starts 8 h ago: the bases signed at +1 h … +4 h (and a minute) are valid now for openssl (72 h each); the
// last test moves past a base's nextUpdate (its last CRL is checked by signature only)
const start = () => Date.now() - 8 * HOUR;

describe('one delta CRL base when two instances reach its grace period together (one SQLite database)', () => {
  const clock = fixedClock(start());
  let fx: AuthorityFixture | undefined;
  afterAll(async () => {
    await fx?.close();
  });
  claimTests(async () => {
    fx = await openAuthorityFixture({ clock, crlDeltaBaseClaim: CLAIM });
    const b = await fx.openSecond({ clock, crlDeltaBaseClaim: CLAIM });
    return [fx.authority, b, await fx.openSecond({ clock, crlDeltaBaseClaim: IMPATIENT })];
  }, clock);
});

describe('one delta CRL base when two instances reach its grace period together (one PostgreSQL database)', () => {
  const hosts = postgresInstances();
  const clock = fixedClock(start());
  claimTests(async () => {
    const url = await hosts.database();
    const [a, b, c] = await Promise.all([
      hosts.open(url, { clock, crlDeltaBaseClaim: CLAIM }),
      hosts.open(url, { clock, crlDeltaBaseClaim: CLAIM }),
      hosts.open(url, { clock, crlDeltaBaseClaim: IMPATIENT }),
    ]);
    return [a, b, c];
  }, clock);
});

describe('crl.base_pending through HTTP (SQLite)', () => {
  const clock = fixedClock(start());
  let f: VaultFixture | undefined;
  afterAll(async () => {
    await f?.close();
  });

  it("GET /v1/pki/crl: 503 with Retry-After, the claim's lifetime left in seconds; its base once expired", async () => {
    f = await openVaultFixture({ clock, crlDeltaBaseClaim: IMPATIENT });
    await enableDeltaCrl(f);
    const first = opensslCrlVerifyOnly(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(first.ok, first.text).toBe(true);
    const { nextUpdate } = await f.authority.crl.current(f.caId);
    // past the base's nextUpdate, a dead process's claim 12.5 s from expiry: nothing valid to answer
    const later = nextUpdate + 1;
    const dead = { caId: f.caId, owner: 'a-process-that-died', expiresAt: later + 12_500 };
    expect(await internalsOf(f.authority).store.crlDeltaBases.claim(dead, clock.now())).toBeUndefined();
    clock.advance(later - clock.now());
    for (const path of ['pki/crl', 'pki/crl/pem']) {
      const refused = await vaultCall(f, 'GET', path, undefined, { token: null });
      expect(refused.status, refused.text).toBe(503);
      expect(refused.headers.get('retry-after'), path).toBe('13'); // 12.5 s, rounded up
      expect(refused.body.errors, refused.text).toEqual([expect.stringMatching(/is being signed .* retry shortly/)]);
    }
    // the claim expired: the next request's wait signs a base (taken over); openssl checks its signature (its
    // thisUpdate is days ahead of the wall clock)
    clock.advance(12_500);
    const base = opensslCrlVerifyOnly(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(base.ok, base.text).toBe(true);
    expect(crlNumberOf(base.text)).toBeGreaterThan(crlNumberOf(first.text));
  });
});

describe('crl.delta_pending through HTTP (SQLite)', () => {
  const clock = fixedClock(Date.now() - 60_000);
  let f: VaultFixture | undefined;
  afterAll(async () => {
    await f?.close();
  });

  it('GET /v1/pki/crl/delta: 503 with Retry-After while another holds the claim, then the previous delta', async () => {
    f = await openVaultFixture({ clock, crlDeltaBaseClaim: IMPATIENT });
    await enableDeltaCrl(f);
    const base = opensslCrlVerify(await vaultRaw(f, 'pki/crl'), f.intermediatePem);
    expect(base.ok, base.text).toBe(true);
    // another process holds the CA's delta claim, 12.5 s from expiry; no delta exists yet
    const claims = internalsOf(f.authority).store.crlDeltas;
    const other = { caId: f.caId, owner: 'another-process', expiresAt: clock.now() + 12_500 };
    expect(await claims.claim(other, clock.now())).toBeUndefined();
    for (const path of ['pki/crl/delta', 'pki/crl/delta/pem']) {
      const refused = await vaultCall(f, 'GET', path, undefined, { token: null });
      expect(refused.status, refused.text).toBe(503);
      expect(refused.headers.get('retry-after'), path).toBe('13'); // 12.5 s, rounded up
      expect(refused.body.errors, refused.text).toEqual([expect.stringMatching(/is being signed .* retry shortly/)]);
    }
    // released: this process signs the delta (the refused requests' signing goes on and takes the claim)
    await claims.release(f.caId, 'another-process');
    let first: Uint8Array | undefined;
    for (let i = 0; i < 600 && !first; i++) {
      const r = await fetch(`${f.url}/v1/pki/crl/delta`);
      if (r.status === 200) first = new Uint8Array(await r.arrayBuffer());
      else await delay(100);
    }
    expect(first, 'a delta once the claim was released').toBeDefined();
    const d = opensslCrlVerify(first!, f.intermediatePem);
    expect(d.ok, d.text).toBe(true);
    expect(d.text).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${crlNumberOf(base.text)}\\b`));
    // a revocation, the claim held elsewhere again: the previous delta (still valid) is served, same bytes
    const leaf = await ocspLeaf(f.authority, f.caId, 'delta-http.example.com');
    await f.authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    expect(await claims.claim({ ...other, expiresAt: clock.now() + 12_500 }, clock.now())).toBeUndefined();
    const previous = await vaultRaw(f, 'pki/crl/delta');
    expect(Buffer.from(previous).equals(Buffer.from(first!)), 'the previous delta').toBe(true);
    const pem = Buffer.from(await vaultRaw(f, 'pki/crl/delta/pem')).toString();
    expect(pem.replace(/-----[^-]+-----|\s/g, '')).toBe(Buffer.from(first!).toString('base64'));
    const p = opensslCrlVerify(previous, f.intermediatePem);
    expect(p.ok, p.text).toBe(true);
    await claims.release(f.caId, 'another-process');
  });
});
