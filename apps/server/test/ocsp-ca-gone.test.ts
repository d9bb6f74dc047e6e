// What the OCSP responder answers for a certificate whose CA was disabled or deleted since (docs/ocsp.md "A CA
// disabled or deleted"): a disabled CA stops issuing, not answering — its certificates are still out there, so their
// status (good, or revoked after the CA was disabled) is answered as before; a deleted CA (revoked or expired first,
// its certificates deleted with it) is an issuer this responder no longer serves: `unauthorized` (RFC 6960 §2.3, RFC
// 5019 §2.2.3: not capable of responding authoritatively — there is no record left to answer `good`/`revoked` from,
// and `unknown` would have to be signed by the deleted CA), by this instance at once and by another instance on the
// same database at its next request. Two instances on one SQLite database; every answer read by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authority } from '@pkim/authority';
import { opensslOcspCheck, opensslOcspRequest } from '../../../tests/support/verifiers';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { ocspLeaf } from './ocsp-test-support';

/** `openssl ocsp -respin` of an answer: the responder error, or the verified status of the leaf */
function opensslReads(der: Uint8Array, o: { rootPem: string; leafPem: string }): string {
  const r = opensslOcspCheck({ responseDer: der, issuerPem: o.rootPem, caFilePem: o.rootPem, leafPem: o.leafPem });
  if (r.output.includes('Responder Error: unauthorized (6)')) return 'unauthorized';
  expect(r.output, r.output).toMatch(/Response verify OK/);
  return /leaf\.pem: (good|revoked|unknown)/.exec(r.output)?.[1] ?? r.output;
}

describe('OCSP for a certificate whose CA was disabled or deleted since (two instances on one SQLite database)', () => {
  let fx: AuthorityFixture;
  let a: Authority;
  let b: Authority;

  beforeAll(async () => {
    fx = await openAuthorityFixture({});
    a = fx.authority;
    b = await fx.openSecond();
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

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
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['revoked', 'revoked']);
  });

  it('a deleted CA: unauthorized, from this instance at once and from the other at its next request', async () => {
    const ca = await rootWithLeaf('gone-deleted');
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['good', 'good']); // both answered (in memory now)
    await a.cas.revokeCa(ca.id, 'cessationOfOperation', ACTORS.admin);
    expect([await ca.ask(a), await ca.ask(b)]).toEqual(['revoked', 'revoked']);
    await a.cas.delete(ca.id, {}, ACTORS.admin);
    expect(await ca.ask(a)).toBe('unauthorized');
    expect(await ca.ask(b)).toBe('unauthorized'); // another connection committed: B reads again
  });
});
