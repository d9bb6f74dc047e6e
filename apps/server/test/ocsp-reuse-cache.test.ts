// The OCSP responder's general path — a Vault mount's responder (`responderCaId`, `mountCaIds`: OpenBao's
// `/v1/<mount>/ocsp`), several certificates or an unusual CertID — signs per request, and reuses a response it signed
// for the same certificate, CertID and status for 60 s of clock time (`responseReuseMs`, ocsp-service.ts): a response
// signed less than 60 s ago is reused byte for byte, one 60 s old is signed again, a revocation in between is
// answered by a new response at once, and of two concurrent requests the response signed later stays the one reused
// (the earlier request's signature held by the test, `holdNextSignature`). The clock is the authority's
// (`fixedClock`), moved by the test; every response is checked by `openssl ocsp`. On SQLite and on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority, AuthorityConfig, OcspRespondOptions } from '@pkim/authority';
import { opensslOcspRequest } from '../../../tests/support/verifiers';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { checked, holdNextSignature, ocspLeaf, ocspPki, statusOf, type OcspPki } from './ocsp-test-support';

const MINUTE = 60_000;
/** responseReuseMs' default (ocsp-service.ts) */
const REUSE_MS = 60_000;

/** the tests, on the authority `open(config)` gives (in a beforeAll) */
function reuseTests(open: (config: Partial<AuthorityConfig>) => Promise<Authority>) {
  // responses valid 2 h; the clock starts 90 min back, so every response the tests make is current for openssl
  const clock = fixedClock(Date.now() - 90 * MINUTE);
  let authority: Authority;
  let p: OcspPki;
  let mount: OcspRespondOptions;

  beforeAll(async () => {
    authority = await open({ clock, env: { PKIM_OCSP_VALIDITY: '2h', PKIM_OCSP_REFRESH_BEFORE: '1h' } });
    p = await ocspPki(authority, 'reuse', 0);
    mount = { responderCaId: p.issuingId, mountCaIds: [p.issuingId] }; // as vault-pki-service.ts asks
  }, 120_000);

  const same = (a: { der: Uint8Array }, b: { der: Uint8Array }) => Buffer.from(a.der).equals(Buffer.from(b.der));

  it('reuses a response signed less than 60 s ago, and signs it again once it is 60 s old', async () => {
    const leaf = await ocspLeaf(authority, p.issuingId, 'reuse-age.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const signedAt = clock.now();
    const first = await authority.ocsp.respond(req, mount);
    expect(first.thisUpdate).toBe(signedAt);
    clock.advance(REUSE_MS - 1);
    const reused = await authority.ocsp.respond(req, mount);
    expect(same(reused, first), 'reused').toBe(true);
    expect(reused.thisUpdate).toBe(signedAt);
    clock.advance(1);
    const again = await authority.ocsp.respond(req, mount);
    expect(same(again, first), 'signed again').toBe(false);
    expect(again.thisUpdate).toBe(signedAt + REUSE_MS);
    const reusedAgain = await authority.ocsp.respond(req, mount);
    expect(same(reusedAgain, again), 'the new one reused').toBe(true);
    for (const r of [first, reused, again, reusedAgain]) {
      expect(r.statuses).toEqual(['good']);
      expect(statusOf(checked({ der: r.der, ...p, leafPem: leaf.pem }))).toBe('good');
    }
  });

  it('a revocation in between is answered by a new response at once, which is then reused', async () => {
    const leaf = await ocspLeaf(authority, p.issuingId, 'reuse-revoked.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const good = await authority.ocsp.respond(req, mount);
    clock.advance(1_000); // well within the reuse window
    await authority.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    const revoked = await authority.ocsp.respond(req, mount);
    expect(same(revoked, good), 'not the good one').toBe(false);
    expect(revoked.statuses).toEqual(['revoked']);
    expect(revoked.thisUpdate).toBe(clock.now());
    clock.advance(1_000);
    const reused = await authority.ocsp.respond(req, mount);
    expect(same(reused, revoked), 'the revoked one reused').toBe(true);
    expect(statusOf(checked({ der: good.der, ...p, leafPem: leaf.pem }))).toBe('good');
    for (const r of [revoked, reused]) {
      const out = checked({ der: r.der, ...p, leafPem: leaf.pem });
      expect(statusOf(out)).toBe('revoked');
      expect(out).toMatch(/Reason: keyCompromise/);
    }
  });

  // two requests for one certificate at once, both finding nothing to reuse: the one that read the clock first
  // finishes signing last (the test holds its signature); the response the later one signed stays the one reused
  it('a response signed later by a concurrent request stays reused when an earlier one finishes after it', async () => {
    const leaf = await ocspLeaf(authority, p.issuingId, 'reuse-race.example.test');
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    const hold = holdNextSignature(authority);
    try {
      const t1 = clock.now();
      const earlier = authority.ocsp.respond(req, mount); // signs at t1; its signature is held
      await hold.signing;
      clock.advance(1_000);
      const later = await authority.ocsp.respond(req, mount); // nothing kept yet: signed at t1 + 1 s, kept
      expect(later.thisUpdate).toBe(t1 + 1_000);
      hold.release();
      const early = await earlier; // signed at t1, done after the later one was kept
      expect(early.thisUpdate).toBe(t1);
      expect(same(early, later)).toBe(false);
      const reused = await authority.ocsp.respond(req, mount);
      expect(same(reused, later), 'the later-signed response reused').toBe(true);
      expect(reused.thisUpdate).toBe(t1 + 1_000);
      for (const r of [early, later, reused])
        expect(statusOf(checked({ der: r.der, ...p, leafPem: leaf.pem }))).toBe('good');
    } finally {
      hold.restore();
    }
  });

  it('reuses nothing across certificates, nor for a request with a nonce', async () => {
    const [a, b] = [
      await ocspLeaf(authority, p.issuingId, 'reuse-a.example.test'),
      await ocspLeaf(authority, p.issuingId, 'reuse-b.example.test'),
    ];
    const reqA = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: a.pem });
    const reqB = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: b.pem });
    const answerA = await authority.ocsp.respond(reqA, mount);
    const answerB = await authority.ocsp.respond(reqB, mount);
    expect(same(answerA, answerB)).toBe(false);
    expect(statusOf(checked({ der: answerA.der, ...p, leafPem: a.pem }))).toBe('good');
    expect(statusOf(checked({ der: answerB.der, ...p, leafPem: b.pem }))).toBe('good');
    const nonceReq = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: a.pem, nonce: true });
    const [n1, n2] = [await authority.ocsp.respond(nonceReq, mount), await authority.ocsp.respond(nonceReq, mount)];
    expect(same(n1, answerA) || same(n2, answerA) || same(n1, n2), 'each nonce request signed').toBe(false);
    for (const n of [n1, n2]) {
      const out = checked({ der: n.der, ...p, leafPem: a.pem, requestDer: nonceReq });
      expect(out).toMatch(/Cert Status: good/);
    }
  });
}

describe("OCSP general path: a response is reused for 60 s of clock time, while the certificate's status holds", () => {
  let fx: AuthorityFixture | undefined;
  afterAll(async () => {
    await fx?.close();
  });
  reuseTests(async (config) => (fx = await openAuthorityFixture(config)).authority);
});

describe('OCSP general path: a response is reused for 60 s of clock time (PostgreSQL)', () => {
  const hosts = postgresInstances();
  reuseTests(async (config) => hosts.open(await hosts.database(), config));
});
