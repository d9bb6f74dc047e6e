// Pre-signed OCSP responses (docs/ocsp.md): the refresh job signs one response per certificate ahead of time, a
// request without nonce gets it as stored, a revocation re-signs only that certificate's response, and no instance
// — SQLite or two servers on one PostgreSQL — ever serves a stored "good" for a revoked certificate. Every response
// is checked by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { buildServer } from '@pkim/server';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import {
  checked,
  holdNextStatusRead,
  ocspLeaf,
  ocspPki,
  statusOf,
  type OcspLeaf as Leaf,
  type OcspPki,
} from './ocsp-test-support';

const HOUR = 3_600_000;

/** ANSWER_RECHECK_MS (ocsp-service.ts): how long (clock time) an answer from a stored response is served from memory */
const MEMORY_MS = 500;
/** how long a poll waits for what a revocation writes by itself: far beyond need, a loaded step can take seconds */
const POLL_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the authorities' clock: it stands still unless a test moves it, so memory windows do not pass by themselves */
type ManualClock = ReturnType<typeof fixedClock>;

/** reads `read` until `done` holds or POLL_MS have passed; returns the last value read (the caller's expect says) */
async function pollUntil<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + POLL_MS;
  let v = await read();
  while (!done(v) && Date.now() < end) {
    await sleep(20);
    v = await read();
  }
  return v;
}

/** counts the store reads of one certificate's OCSP status: a request answered from memory reads nothing */
function countReads(authority: Authority, serial: string) {
  const ocspStore = internalsOf(authority).store.ocspResponses;
  const lookup = ocspStore.lookup.bind(ocspStore);
  const counter = {
    reads: 0,
    restore: () => void (ocspStore.lookup = lookup),
  };
  ocspStore.lookup = (caId, serialHex, ...rest) => {
    if (serialHex.toLowerCase() === serial.toLowerCase()) counter.reads++;
    return lookup(caId, serialHex, ...rest);
  };
  return counter;
}

/**
 * Holds this instance's next write of stored OCSP responses until `release()`: `held` resolves once it is called. A
 * response signed earlier is then written after one signed later, without timing.
 */
function holdNextPut(authority: Authority) {
  const ocspStore = internalsOf(authority).store.ocspResponses;
  const put = ocspStore.put.bind(ocspStore);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let called!: () => void;
  const held = new Promise<void>((r) => (called = r));
  let first = true;
  ocspStore.put = async (rows) => {
    if (first) {
      first = false;
      called();
      await released;
    }
    return put(rows);
  };
  return {
    held,
    release,
    restore() {
      release();
      ocspStore.put = put;
    },
  };
}

/**
 * A response signed earlier and written later (a slow request, the refresh job) does not replace the newer one: the
 * stored response, what the next request is answered (its thisUpdate the GET's Last-Modified), does not go backwards.
 * The request whose write lost is answered what the store kept (put returns it), not what it signed.
 */
async function olderWriteKeepsNewer(authority: Authority, p: OcspPki, name: string, clock: ManualClock) {
  const leaf = await ocspLeaf(authority, p.issuingId, `${name}-older.example.test`);
  const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
  const hold = holdNextPut(authority);
  try {
    const slow = authority.ocsp.respond(req); // nothing stored yet: signed now, its write held
    await hold.held;
    const olderAt = clock.now();
    clock.advance(2_000);
    const newer = await authority.ocsp.respond(req); // signed 2 s later and stored
    hold.release();
    const older = await slow; // its write lost to the newer one: answered the newer one
    expect([older.thisUpdate, newer.thisUpdate]).toEqual([olderAt + 2_000, olderAt + 2_000]);
    expect(Buffer.from(older.der).equals(Buffer.from(newer.der))).toBe(true);
    const row = (await internalsOf(authority).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!;
    expect(row.thisUpdate).toBe(olderAt + 2_000);
    expect(Buffer.from(row.der, 'base64').equals(Buffer.from(newer.der))).toBe(true);
    // what a request stored is kept in memory: the next one, within the window, reads nothing
    const reads = countReads(authority, leaf.serial);
    try {
      const fromMemory = await authority.ocsp.respond(req);
      expect(reads.reads, 'answered from memory').toBe(0);
      expect(Buffer.from(fromMemory.der).equals(Buffer.from(newer.der))).toBe(true);
    } finally {
      reads.restore();
    }
    clock.advance(MEMORY_MS);
    const again = await authority.ocsp.respond(req);
    expect(again.thisUpdate).toBe(olderAt + 2_000);
    expect(Buffer.from(again.der).equals(Buffer.from(newer.der))).toBe(true);
    expect(statusOf(checked({ der: again.der, ...p, leafPem: leaf.pem }))).toBe('good');
    expect(statusOf(checked({ der: older.der, ...p, leafPem: leaf.pem }))).toBe('good');
  } finally {
    hold.restore();
  }
}

/**
 * What this instance stores or revokes for OTHER certificates (a first SHA-256 request, whose response is stored; a
 * revocation, whose response is signed again) leaves a certificate's answer in memory: answered again within the
 * memory's window without reading the store. The window is clock time and `clock` stands still meanwhile, so the
 * sequence is inside it however long a loaded machine takes (it was timed by the wall clock, with retries, before).
 */
async function unrelatedChangesKeepAnswer(authority: Authority, p: OcspPki, name: string, clock: ManualClock) {
  const leaf = await ocspLeaf(authority, p.issuingId, `${name}-kept.example.test`);
  const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
  await authority.ocsp.respond(req); // its response signed and stored (the first request)
  const reads = countReads(authority, leaf.serial);
  try {
    const [y, z] = [
      await ocspLeaf(authority, p.issuingId, `${name}-y.example.test`),
      await ocspLeaf(authority, p.issuingId, `${name}-z.example.test`),
    ];
    const y256 = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: y.pem, hash: 'sha256' });
    clock.advance(MEMORY_MS); // what an earlier request kept has expired
    const first = await authority.ocsp.respond(req);
    const afterFirst = reads.reads;
    const yAnswer = await authority.ocsp.respond(y256); // y's SHA-256 response signed and stored
    await authority.certificates.revoke(z.id, 'superseded', ACTORS.admin); // z's re-signed
    const again = await authority.ocsp.respond(req);
    expect(afterFirst, 'the first request read the store').toBeGreaterThan(0);
    expect(reads.reads - afterFirst, 'answered from memory after the unrelated changes').toBe(0);
    expect(Buffer.from(again.der).equals(Buffer.from(first.der))).toBe(true);
    expect(statusOf(checked({ der: first.der, ...p, leafPem: leaf.pem }))).toBe('good');
    expect(statusOf(checked({ der: yAnswer.der, ...p, leafPem: y.pem, requestDer: y256 }))).toBe('good');
    const zAnswer = await authority.ocsp.respond(opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: z.pem }));
    expect(statusOf(checked({ der: zAnswer.der, ...p, leafPem: z.pem }))).toBe('revoked');
  } finally {
    reads.restore();
  }
}

/**
 * This instance's revocation of a certificate whose "good" answer is in memory (and with reads of it in flight) is
 * answered "revoked" at once. `clock` stands still, so the "good" answer is still in memory (within the window) when
 * the revocation lands, however long a loaded machine takes — the check means something every time.
 */
async function revocationLeavesNoStaleGood(authority: Authority, p: OcspPki, name: string) {
  const leaf = await ocspLeaf(authority, p.issuingId, `${name}-r.example.test`);
  const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
  const first = await authority.ocsp.respond(req); // its response signed and stored (the first request), kept
  const reads = countReads(authority, leaf.serial);
  try {
    const good = await authority.ocsp.respond(req);
    expect((await authority.ocsp.respond(req)).der).toEqual(good.der);
    expect(Buffer.from(good.der).equals(Buffer.from(first.der))).toBe(true);
    expect(reads.reads, 'the answers came from memory').toBe(0);
    const inFlight = Array.from({ length: 8 }, () => authority.ocsp.respond(req));
    await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    await Promise.all(inFlight);
    const after = await authority.ocsp.respond(req);
    expect(statusOf(checked({ der: good.der, ...p, leafPem: leaf.pem }))).toBe('good');
    const out = checked({ der: after.der, ...p, leafPem: leaf.pem });
    expect(statusOf(out)).toBe('revoked');
    expect(out).toMatch(/Reason: keyCompromise/);
  } finally {
    reads.restore();
  }
}

describe('pre-signed OCSP responses (SQLite)', () => {
  const clock = fixedClock(Date.now());
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let p: OcspPki;

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock, env: { PKIM_OCSP_VALIDITY: '24h', PKIM_OCSP_REFRESH_BEFORE: '8h' } });
    authority = fx.authority;
    p = await ocspPki(authority, 'presign', 4);
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const post = async (der: Uint8Array) => {
    const r = await fetch(`${base}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: Buffer.from(der),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/ocsp-response');
    return new Uint8Array(await r.arrayBuffer());
  };
  const stored = (leaf: Leaf) => internalsOf(authority).store.ocspResponses.lookup(p.issuingId, leaf.serial);

  it('signs a response for every unexpired certificate in one refresh run, and nothing more in the next', async () => {
    const first = await authority.maintenance.refreshOcsp();
    // the four leaves and the issuing CA's certificate (answered by the root; the root's own is not asked of anyone)
    expect(first).toEqual({ signed: 5, failed: 0, removed: 0 });
    expect(await authority.maintenance.refreshOcsp()).toEqual({ signed: 0, failed: 0, removed: 0 });
    const row = (await stored(p.leaves[0]!))!.response!;
    expect(row).toMatchObject({ statusKey: 'good', thisUpdate: clock.now(), nextUpdate: clock.now() + 24 * HOUR });
    expect(row.refreshAt).toBe(clock.now() + 16 * HOUR);
  });

  it('answers a request without nonce with the stored response, byte for byte, over POST and GET', async () => {
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const a = await post(req);
    clock.advance(5_000);
    const b = await post(req);
    const row = (await stored(leaf))!.response!;
    expect(Buffer.from(a).equals(Buffer.from(row.der, 'base64'))).toBe(true);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    const get = await fetch(`${base}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`);
    expect(Buffer.from(await get.arrayBuffer()).equals(Buffer.from(a))).toBe(true);
    expect(statusOf(checked({ der: a, ...p, leafPem: leaf.pem }))).toBe('good');
  });

  it('signs nonce requests on the spot (the nonce echoed), never from the store; SHA-256 has its own', async () => {
    const leaf = p.leaves[1]!;
    const withNonce = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem, nonce: true });
    const r1 = await authority.ocsp.respond(withNonce);
    const r2 = await authority.ocsp.respond(withNonce);
    expect(r1.statuses).toEqual(['good']);
    const row = (await stored(leaf))!.response!;
    expect(Buffer.from(r1.der).equals(Buffer.from(row.der, 'base64'))).toBe(false);
    expect(Buffer.from(r1.der).equals(Buffer.from(r2.der))).toBe(false); // ECDSA: a fresh signature each time
    expect(statusOf(checked({ der: r1.der, ...p, leafPem: leaf.pem, requestDer: withNonce }))).toBe('good');

    const sha256 = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem, hash: 'sha256' });
    const r3 = await authority.ocsp.respond(sha256);
    expect(Buffer.from(r3.der).equals(Buffer.from(row.der, 'base64'))).toBe(false);
    expect(statusOf(checked({ der: r3.der, ...p, leafPem: leaf.pem, requestDer: sha256 }))).toBe('good');
    expect((await stored(leaf))!.response).toEqual(row); // the stored (SHA-1) response stays
    // the SHA-256 answer is stored beside it (docs/ocsp.md; ocsp-sha256-subca.test.ts goes further)
    const store = internalsOf(authority).store;
    const row256 = (await store.ocspResponses.lookup(p.issuingId, leaf.serial, 'sha256'))!.response!;
    expect(Buffer.from(r3.der).equals(Buffer.from(row256.der, 'base64'))).toBe(true);
  });

  it("reflects a revocation at once and re-signs only that certificate's response", async () => {
    const [leaf, other] = [p.leaves[2]!, p.leaves[3]!];
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    // the same request again within 500 ms is answered from memory: one store read for both
    const ocspStore = internalsOf(authority).store.ocspResponses;
    const lookup = ocspStore.lookup.bind(ocspStore);
    let reads = 0;
    ocspStore.lookup = (...args) => {
      reads++;
      return lookup(...args);
    };
    try {
      const good = await post(req);
      expect(statusOf(checked({ der: good, ...p, leafPem: leaf.pem }))).toBe('good');
      expect(Buffer.from(await post(req)).equals(Buffer.from(good))).toBe(true);
      expect(reads).toBe(1);
    } finally {
      ocspStore.lookup = lookup;
    }
    const otherBefore = (await stored(other))!.response!;
    clock.advance(1_000);

    await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    // the revocation signs the new response itself (no request in between): stored for the revoked status
    const row = await pollUntil(
      async () => (await stored(leaf))!.response!,
      (r) => r.statusKey !== 'good',
    );
    expect(row.statusKey).toMatch(/^revoked:\d+:1$/);
    const der = await post(req);
    expect(Buffer.from(der).equals(Buffer.from(row.der, 'base64'))).toBe(true);
    const out = checked({ der, ...p, leafPem: leaf.pem });
    expect(statusOf(out)).toBe('revoked');
    expect(out).toMatch(/Reason: keyCompromise/);
    // the other certificate's response is untouched
    expect((await stored(other))!.response).toEqual(otherBefore);
  });

  it("never serves a stored response that no longer says the certificate's status", async () => {
    const leaf = p.leaves[3]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const good = (await stored(leaf))!.response!;
    await authority.certificates.revoke(leaf.id, 'superseded', ACTORS.admin);
    // a stale "good" written back (e.g. a refresh that read the status just before the revocation committed)
    await internalsOf(authority).store.ocspResponses.put([good]);
    const r = await authority.ocsp.respond(req);
    expect(r.statuses).toEqual(['revoked']);
    expect(statusOf(checked({ der: r.der, ...p, leafPem: leaf.pem }))).toBe('revoked');
  });

  it('signs stored responses again before their nextUpdate, and drops those of expired certificates', async () => {
    const leaf = p.leaves[0]!;
    const before = (await stored(leaf))!.response!;
    clock.set(before.refreshAt + 1);
    const r = await authority.maintenance.refreshOcsp();
    expect(r).toMatchObject({ failed: 0, removed: 0 });
    expect(r.signed).toBeGreaterThanOrEqual(2); // the two good leaves; the revoked ones were signed later
    const after = (await stored(leaf))!.response!;
    expect(after.thisUpdate).toBe(clock.now());
    expect(after.der).not.toBe(before.der);
    clock.set(Date.now());
    const der = await post(opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem }));
    expect(Buffer.from(der).equals(Buffer.from(after.der, 'base64'))).toBe(true);
    expect(statusOf(checked({ der, ...p, leafPem: leaf.pem }))).toBe('good');

    // past every leaf's notAfter: no leaf is signed again, their rows go (leaf 1 has a SHA-256 one too); the issuing
    // CA's certificate is still valid: signed again
    clock.set(Date.now() + 31 * 24 * HOUR);
    expect(await authority.maintenance.refreshOcsp()).toEqual({ signed: 1, failed: 0, removed: 5 });
    expect((await stored(leaf))!.response).toBeUndefined();
    clock.set(Date.now());
  });

  it("keeps a certificate's answer in memory when other certificates' responses are stored or revoked", () =>
    unrelatedChangesKeepAnswer(authority, p, 'presign', clock));

  it('answers "revoked" at once after its own revocation, never a "good" left in memory', () =>
    revocationLeavesNoStaleGood(authority, p, 'presign'));

  it('keeps the newer stored response when one signed earlier is written after it', () =>
    olderWriteKeepsNewer(authority, p, 'presign', clock));
});

describe('pre-signed OCSP responses after a whole CA is revoked (SQLite)', () => {
  let fx: AuthorityFixture;
  let p: OcspPki;

  beforeAll(async () => {
    fx = await openAuthorityFixture({});
    p = await ocspPki(fx.authority, 'carevoke', 3);
  });
  afterAll(async () => {
    await fx?.close();
  });

  it("revoking the issuing CA re-signs every leaf's stored response as revoked (cACompromise)", async () => {
    const { authority } = fx;
    expect((await authority.maintenance.refreshOcsp()).signed).toBe(4); // 3 leaves + the issuing CA's certificate
    const stored = (leaf: Leaf) => internalsOf(authority).store.ocspResponses.lookup(p.issuingId, leaf.serial);
    const before = await Promise.all(p.leaves.map(async (l) => (await stored(l))!.response!));
    expect(before.map((r) => r.statusKey)).toEqual(['good', 'good', 'good']);

    await authority.cas.revokeCa(p.issuingId, 'keyCompromise', ACTORS.admin);
    // the revocation re-signs the stored responses of the CA's certificates itself (no request in between)
    const rows = await pollUntil(
      () => Promise.all(p.leaves.map(async (l) => (await stored(l))!.response!)),
      (rs) => rs.every((r) => r.statusKey !== 'good'),
    );
    expect(rows.map((r) => r.statusKey.replace(/\d+/, 'T'))).toEqual(['revoked:T:2', 'revoked:T:2', 'revoked:T:2']);
    for (const [i, leaf] of p.leaves.entries()) {
      // a request without nonce is answered with that stored response, which openssl reads as revoked
      const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
      const r = await authority.ocsp.respond(req);
      expect(Buffer.from(r.der).equals(Buffer.from(rows[i]!.der, 'base64'))).toBe(true);
      const out = checked({ der: r.der, ...p, leafPem: leaf.pem });
      expect(statusOf(out)).toBe('revoked');
      expect(out).toMatch(/Reason: cACompromise/);
    }
  });
});

describe('pre-signed OCSP responses with two servers on one PostgreSQL database', () => {
  const hosts = postgresInstances();
  const clock = fixedClock(Date.now()); // both instances'
  let first: Authority;
  let second: Authority;
  let appA: FastifyInstance;
  let appB: FastifyInstance;
  let baseB: string;
  let p: OcspPki;

  beforeAll(async () => {
    [first, second] = await hosts.two({ clock });
    p = await ocspPki(first, 'pg-presign', 2);
    appA = await buildServer(first, { logger: false, backgroundJobs: false });
    appB = await buildServer(second, { logger: false, backgroundJobs: false });
    await listen(appA);
    baseB = await listen(appB);
  }, 120_000);
  afterAll(async () => {
    await appA?.close();
    await appB?.close();
  });

  // the guarantee: B's answers come from memory for at most ANSWER_RECHECK_MS (500 ms of clock time, ocsp-service.ts)
  // after B read the store, so A's revocation shows at B's first request once that window has passed (< 1 s, issue
  // #12); the window is moved by the test's clock, never by the wall clock: timings belong in the benchmarks
  it('B stops serving "good" once its 500 ms window has passed after A revokes, then serves the new one', async () => {
    expect((await first.maintenance.refreshOcsp()).signed).toBe(3); // 2 leaves + the issuing CA's certificate
    const [leaf, other] = [p.leaves[0]!, p.leaves[1]!];
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const askB = async () => {
      const r = await fetch(`${baseB}/ocsp`, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request' },
        body: Buffer.from(req),
      });
      return new Uint8Array(await r.arrayBuffer());
    };
    const storedGood = (await internalsOf(second).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!;
    const before = await askB();
    expect(Buffer.from(before).equals(Buffer.from(storedGood.der, 'base64'))).toBe(true);
    expect(statusOf(checked({ der: before, ...p, leafPem: leaf.pem }))).toBe('good');
    expect(Buffer.from(await askB()).equals(Buffer.from(before))).toBe(true); // from B's memory

    await first.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    clock.advance(MEMORY_MS); // B's recheck window has passed
    const after = await askB();
    const out = checked({ der: after, ...p, leafPem: leaf.pem });
    expect(statusOf(out)).toBe('revoked');
    expect(out).toMatch(/Reason: keyCompromise/);

    // A re-signed that one response; B serves it as stored from then on
    const row = await pollUntil(
      async () => (await internalsOf(second).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!,
      (r) => r.statusKey !== 'good',
    );
    expect(row.statusKey).toMatch(/^revoked:/);
    clock.advance(MEMORY_MS); // past what B signed and kept itself meanwhile (it may be another signature of "revoked")
    const again = await askB();
    expect(Buffer.from(again).equals(Buffer.from(row.der, 'base64'))).toBe(true);
    expect(statusOf(checked({ der: again, ...p, leafPem: leaf.pem }))).toBe('revoked');

    // a stale "good" row written back is refused (the store keeps the revoked one) and not served by either instance
    await internalsOf(second).store.ocspResponses.put([storedGood]);
    clock.advance(MEMORY_MS);
    expect(statusOf(checked({ der: await askB(), ...p, leafPem: leaf.pem }))).toBe('revoked');
    const otherReq = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: other.pem });
    const o = await second.ocsp.respond(otherReq);
    expect(statusOf(checked({ der: o.der, ...p, leafPem: other.pem }))).toBe('good');
  });

  it("keeps a certificate's answer in memory when other certificates' responses are stored or revoked", () =>
    unrelatedChangesKeepAnswer(first, p, 'pg-presign', clock));

  it('answers "revoked" at once after its own revocation, never a "good" left in memory', () =>
    revocationLeavesNoStaleGood(first, p, 'pg-presign'));

  it('keeps the newer stored response when one signed earlier is written after it', () =>
    olderWriteKeepsNewer(first, p, 'pg-presign', clock));

  it('a "good" B signed from its read before A\'s revocation loses to the revoked one: B answers that', async () => {
    const leaf = await ocspLeaf(first, p.issuingId, 'pg-presign-late.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const storedRow = async () =>
      (await internalsOf(second).store.ocspResponses.lookup(p.issuingId, leaf.serial))?.response;
    const hold = holdNextStatusRead(second, leaf.serial);
    try {
      const late = second.ocsp.respond(req);
      await hold.readDone; // B read "good", nothing stored
      await first.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
      const revoked = await pollUntil(storedRow, (r) => !!r?.statusKey.startsWith('revoked:'));
      expect(revoked?.statusKey).toMatch(/^revoked:/);
      clock.advance(1_000); // B signs after A did
      hold.release();
      const b = await late; // B's "good" (signed from its read) lost to A's revoked: B answers what was kept
      expect(await storedRow()).toEqual(revoked);
      expect(b.statuses).toEqual(['revoked']);
      expect(b.thisUpdate).toBe(revoked!.thisUpdate);
      expect(Buffer.from(b.der).equals(Buffer.from(revoked!.der, 'base64'))).toBe(true);
      const out = checked({ der: b.der, ...p, leafPem: leaf.pem });
      expect(statusOf(out)).toBe('revoked');
      expect(out).toMatch(/Reason: keyCompromise/);
    } finally {
      hold.restore();
    }
  });
  it("B's write that loses to A's newer response: B answers A's response, and keeps it in memory", async () => {
    const leaf = await ocspLeaf(first, p.issuingId, 'pg-presign-lost.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const hold = holdNextPut(second);
    try {
      const slow = second.ocsp.respond(req); // nothing stored yet: B signs, its write held
      await hold.held;
      clock.advance(2_000);
      const a = await first.ocsp.respond(req); // A signs 2 s later and stores
      hold.release();
      const b = await slow; // B's write lost: B answers A's response
      expect(b.thisUpdate).toBe(a.thisUpdate);
      expect(Buffer.from(b.der).equals(Buffer.from(a.der))).toBe(true);
      const row = (await internalsOf(second).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!;
      expect(Buffer.from(row.der, 'base64').equals(Buffer.from(a.der))).toBe(true);
      const reads = countReads(second, leaf.serial);
      try {
        const next = await second.ocsp.respond(req); // from B's memory: A's response
        expect(reads.reads, 'answered from memory').toBe(0);
        expect(Buffer.from(next.der).equals(Buffer.from(a.der))).toBe(true);
      } finally {
        reads.restore();
      }
      expect(statusOf(checked({ der: b.der, ...p, leafPem: leaf.pem }))).toBe('good');
    } finally {
      hold.restore();
    }
  });
  it("B's memory keeps the newer answer when a read made before A re-signed the response finishes last", async () => {
    const leaf = await ocspLeaf(first, p.issuingId, 'pg-presign-memory.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const older = await second.ocsp.respond(req); // signed and stored by B (the first request), kept in memory
    clock.advance(MEMORY_MS); // B's next request reads the store
    const hold = holdNextStatusRead(second, leaf.serial);
    try {
      const slow = second.ocsp.respond(req);
      await hold.readDone; // B read the stored response
      clock.advance(17 * HOUR); // past its refreshAt (24 h validity, refreshed 8 h before): A's refresh re-signs it
      expect((await first.maintenance.refreshOcsp()).failed).toBe(0);
      const row = (await internalsOf(second).store.ocspResponses.lookup(p.issuingId, leaf.serial))!.response!;
      expect(row.thisUpdate).toBe((older.thisUpdate ?? 0) + MEMORY_MS + 17 * HOUR);
      const newer = await second.ocsp.respond(req); // B reads A's response, keeps it in memory
      expect(newer.thisUpdate).toBe(row.thisUpdate);
      hold.release();
      await slow; // the read made before: the older response, not kept over the newer one
      const next = await second.ocsp.respond(req); // from B's memory
      expect(next.thisUpdate).toBe(row.thisUpdate);
      expect(Buffer.from(next.der).equals(Buffer.from(row.der, 'base64'))).toBe(true);
      expect(statusOf(checked({ der: next.der, ...p, leafPem: leaf.pem }))).toBe('good');
    } finally {
      hold.restore();
    }
  });
});
