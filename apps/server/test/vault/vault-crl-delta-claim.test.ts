// Two instances on one database reaching a delta CRL base's grace period together (a Vault mount's `enable_delta`,
// its `auto_rebuild_grace_period`): one signs the new base — it holds the CA's claim (crl_delta_base_claims, migration
// 0046) — and the other waits for that base and serves it, so both serve one base and their deltas name it. A claim
// whose process died is taken over once it expired. Deterministic: the first instance's signature is held by the test
// (holdNextSignature) until the second has found the claim taken; the clock (both instances') is moved by the test.
// SQLite and PostgreSQL; every CRL read by openssl, certtool and Go, and `openssl verify -crl_check -use_deltas`.
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslCrlVerify } from '../../../../tests/support/verifiers';
import { postgresInstances } from '../../../../tests/support/postgres-instances';
import { ACTORS, createIssuingCa, createRootCa } from '../server-test-support';
import { holdNextSignature, ocspLeaf } from '../ocsp-test-support';
import { crlNumberOf, twoInstances, verifyLeafWithCrls } from './vault-test-support';

const HOUR = 3_600_000;
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

function claimTests(open: () => Promise<[Authority, Authority]>, clock: ReturnType<typeof fixedClock>) {
  let a: Authority;
  let b: Authority;
  let pki: { rootPem: string; intermediatePem: string; caId: string };

  beforeAll(async () => {
    [a, b] = await open();
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
    // a process took the claim and died before storing a base
    const now = clock.now();
    const dead = { caId: pki.caId, owner: 'a-process-that-died', expiresAt: now + 60_000 };
    expect(await internalsOf(a).store.crlDeltaBases.claim(dead, now)).toBeUndefined();
    const waiting = claimsHeld(b);
    const bWaits = waiting.next();
    const fromB = b.crl.current(pki.caId);
    // B waits for the dead process's base
    expect(await Promise.race([bWaits.then(() => 'waits'), fromB.then(() => 'signed')])).toBe('waits');
    clock.advance(60_000); // its claim expired: B takes it over and signs
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
}

// the clock starts 3 h ago: the bases signed at +1 h and +2 h are valid now for openssl (72 h each)
const start = () => Date.now() - 3 * HOUR;

describe('one delta CRL base when two instances reach its grace period together (one SQLite database)', () => {
  const clock = fixedClock(start());
  claimTests(twoInstances(clock), clock);
});

describe('one delta CRL base when two instances reach its grace period together (one PostgreSQL database)', () => {
  const hosts = postgresInstances();
  const clock = fixedClock(start());
  claimTests(() => hosts.two({ clock }), clock);
});
