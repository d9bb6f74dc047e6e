// What the OCSP responder answers for a certificate whose CA was disabled or deleted since (docs/ocsp.md "A CA
// disabled or deleted"): a disabled CA stops issuing, not answering — its certificates are still out there, so their
// status (good, or revoked after the CA was disabled) is answered as before; a deleted CA (revoked or expired first,
// its certificates deleted with it) is an issuer this responder no longer serves: `unauthorized` (RFC 6960 §2.3, RFC
// 5019 §2.2.3: not capable of responding authoritatively — there is no record left to answer `good`/`revoked` from,
// and `unknown` would have to be signed by the deleted CA), by this instance at once and by another instance on the
// same database at its next request — on SQLite; on PostgreSQL once it heard of the commit (LISTEN, a moment later) or
// at the latest once its 500 ms of answers from memory have passed (ANSWER_RECHECK_MS, ocsp-service.ts: as another
// instance's revocation), which the test waits for by moving the clock. Two instances on one SQLite database, and two
// on one PostgreSQL database, their clock moved by the test only; every answer read by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { opensslOcspCheck, opensslOcspRequest } from '../../../tests/support/verifiers';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { ocspLeaf } from './ocsp-test-support';

/** `openssl ocsp -respin` of an answer: the responder error, or the verified status of the leaf */
function opensslReads(der: Uint8Array, o: { rootPem: string; leafPem: string }): string {
  const r = opensslOcspCheck({ responseDer: der, issuerPem: o.rootPem, caFilePem: o.rootPem, leafPem: o.leafPem });
  if (r.output.includes('Responder Error: unauthorized (6)')) return 'unauthorized';
  expect(r.output, r.output).toMatch(/Response verify OK/);
  return /leaf\.pem: (good|revoked|unknown)/.exec(r.output)?.[1] ?? r.output;
}

/** ANSWER_RECHECK_MS (ocsp-service.ts): how long (clock time) an answer from a stored response is served from memory */
const MEMORY_MS = 500;

/**
 * the tests, on two instances `open()` gives (opened in a beforeAll); `othersSee()`: what has to pass before an
 * instance answers what the other one changed (nothing on SQLite, the memory window on PostgreSQL)
 */
function caGoneTests(open: () => Promise<[Authority, Authority]>, othersSee: () => void) {
  let a: Authority;
  let b: Authority;

  beforeAll(async () => {
    [a, b] = await open();
  }, 120_000);

  /** a root CA and one leaf of it, its OCSP request */
  async function rootWithLeaf(name: string) {
    const root = await a.cas.create(
      { name, subject: { commonName: `${name} Root CA` }, keyType: 'ec-p256' },
      ACTORS.admin,
    );
    const leaf = await ocspLeaf(a, root.ca.id, `${name}.example.test`);
    const rootPem = root.certificatePem!;
    const req = opensslOcspRequest({ issuerPem: rootPem, leafPem: leaf.pem });
    /** what `instance` answers for the leaf, as openssl reads it */
    const ask = async (instance: Authority) =>
      opensslReads((await instance.ocsp.respond(req)).der, { rootPem, leafPem: leaf.pem });
    return { id: root.ca.id, leaf, ask };
  }

  it('a disabled CA still answers for what it issued: good, and revoked once revoked after disabling', async () => {
    const ca = await rootWithLeaf('gone-disabled');
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['good', 'good']);
    await a.cas.setStatus(ca.id, 'disabled', ACTORS.admin);
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['good', 'good']);
    await b.certificates.revoke(ca.leaf.id, 'keyCompromise', ACTORS.admin);
    othersSee();
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['revoked', 'revoked']);
  });

  it('a deleted CA: unauthorized, from this instance at once and from the other at its next request', async () => {
    const ca = await rootWithLeaf('gone-deleted');
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['good', 'good']); // both answered (in memory now)
    await a.cas.revokeCa(ca.id, 'cessationOfOperation', ACTORS.admin);
    othersSee();
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['revoked', 'revoked']);
    await a.cas.delete(ca.id, {}, ACTORS.admin);
    expect(await ca.ask(a)).toBe('unauthorized');
    othersSee();
    expect(await ca.ask(b)).toBe('unauthorized'); // B reads again: another connection committed (or 500 ms passed)
  });
}

describe('OCSP for a certificate whose CA was disabled or deleted since (two instances on one SQLite database)', () => {
  const clock = fixedClock(Date.now()); // both instances'; it stands still: no memory window passes
  let fx: AuthorityFixture | undefined;
  afterAll(async () => {
    await fx?.close();
  });
  caGoneTests(
    async () => {
      fx = await openAuthorityFixture({ clock });
      return [fx.authority, await fx.openSecond({ clock })];
    },
    () => undefined, // another connection's commit is seen at the next request (Store.otherCommits)
  );
});

describe('OCSP for a certificate whose CA was disabled or deleted since (two instances on one PostgreSQL)', () => {
  const hosts = postgresInstances();
  const clock = fixedClock(Date.now()); // both instances'
  caGoneTests(
    () => hosts.two({ clock }),
    () => clock.advance(MEMORY_MS),
  );
});
