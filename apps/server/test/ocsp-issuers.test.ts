// The OCSP responder's issuer index (docs/ocsp.md "Issuers"): a request naming an issuer this responder does not
// serve is answered `unauthorized` from memory (no CA list read per request, whoever sends it), while a CA created
// or imported by this process is served by the next request and one created by another process on the same
// database after the recheck window. Every answer is read by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { opensslOcspCheck, opensslOcspRequest, opensslRaw, withTempDir } from '../../../tests/support/verifiers';
import { ACTORS, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { opensslSignCaCsr } from '../../../tests/support/openssl-tools';

/** a leaf of a CA */
async function leafOf(authority: Authority, caId: string, cn: string): Promise<string> {
  const leaf = await authority.issuance.issueWithKey(
    { caId, profile: 'tls-server', subject: { commonName: cn }, sans: { dns: [cn] }, keyType: 'ec-p256' },
    ACTORS.admin,
  );
  return leaf.certificatePem;
}

/** a root CA and one leaf of it */
async function rootWithLeaf(authority: Authority, name: string) {
  const root = await authority.cas.create(
    { name, subject: { commonName: `${name} Root CA` }, keyType: 'ec-p256' },
    ACTORS.admin,
  );
  return { rootPem: root.certificatePem!, leafPem: await leafOf(authority, root.ca.id, `${name}.example.test`) };
}

/** `openssl ocsp -respin` of an answer: the responder error, or the verified status of the leaf */
function opensslReads(der: Uint8Array, o: { issuerPem: string; leafPem: string; trustPem?: string }): string {
  const r = opensslOcspCheck({
    responseDer: der,
    issuerPem: o.issuerPem,
    caFilePem: o.trustPem ?? o.issuerPem,
    leafPem: o.leafPem,
  });
  if (r.output.includes('Responder Error: unauthorized (6)')) return 'unauthorized';
  expect(r.output, r.output).toMatch(/Response verify OK/);
  return /leaf\.pem: (good|revoked|unknown)/.exec(r.output)?.[1] ?? r.output;
}

describe('OCSP issuer index (two instances on one SQLite database)', () => {
  let fx: AuthorityFixture;
  let foreign: AuthorityFixture;
  let a: Authority;
  let b: Authority;
  let listReads = 0;
  let unknownIssuer: { rootPem: string; leafPem: string; req: Uint8Array };

  beforeAll(async () => {
    fx = await openAuthorityFixture({});
    a = fx.authority;
    b = await fx.openSecond();
    // a CA of another deployment: its issuer hashes are unknown here
    foreign = await openAuthorityFixture({});
    const f = await rootWithLeaf(foreign.authority, 'foreign');
    unknownIssuer = { ...f, req: opensslOcspRequest({ issuerPem: f.rootPem, leafPem: f.leafPem }) };
    await rootWithLeaf(a, 'served');
    // counts the CA list reads of instance A (the wrapper only counts, the real store answers)
    const cas = internalsOf(a).store.cas;
    const list = cas.list.bind(cas);
    cas.list = () => {
      listReads++;
      return list();
    };
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    await foreign?.close();
  });

  const unauthorized = async () => {
    const r = await a.ocsp.respond(unknownIssuer.req);
    expect(r.errorStatus).toBe('unauthorized');
    return r;
  };

  it('answers unknown issuers `unauthorized` without reading the CA list for each request', async () => {
    const first = await unauthorized();
    expect(opensslReads(first.der, { issuerPem: unknownIssuer.rootPem, leafPem: unknownIssuer.leafPem })).toBe(
      'unauthorized',
    );
    const readsBefore = listReads;
    const started = Date.now();
    for (let i = 0; i < 300; i++) await unauthorized();
    // at most one read per recheck window (1 s) however many requests; the machine may be slow, so the bound is
    // taken from the time the loop really took
    const windows = Math.ceil((Date.now() - started) / 1000);
    expect(listReads - readsBefore).toBeLessThanOrEqual(windows);
  });

  it('serves a CA this process creates after an unknown-issuer request at the next request', async () => {
    await unauthorized(); // the index was just read (or is within its recheck window)
    const made = await rootWithLeaf(a, 'made-here');
    const r = await a.ocsp.respond(opensslOcspRequest({ issuerPem: made.rootPem, leafPem: made.leafPem }));
    expect(r.statuses).toEqual(['good']);
    expect(opensslReads(r.der, { issuerPem: made.rootPem, leafPem: made.leafPem })).toBe('good');
  });

  it('serves a CA whose certificate this process imports (external intermediate) at the next request', async () => {
    const pending = await a.cas.createExternalIntermediate(
      { name: 'imported', subject: { commonName: 'Imported Issuing CA' }, keyType: 'ec-p256' },
      ACTORS.admin,
    );
    const outside = opensslSignCaCsr(pending.csrPem);
    // a leaf the imported CA will issue cannot be asked before; its serial can (openssl -serial)
    const bySerial = withTempDir((dir) => {
      writeFileSync(join(dir, 'issuer.pem'), outside.subPem);
      const args = ['ocsp', '-issuer', join(dir, 'issuer.pem'), '-serial', '0x0badc0ffee', '-no_nonce'];
      const r = opensslRaw([...args, '-reqout', join(dir, 'req.der')]);
      expect(r.status, r.output).toBe(0);
      return new Uint8Array(readFileSync(join(dir, 'req.der')));
    });
    expect((await a.ocsp.respond(bySerial)).errorStatus).toBe('unauthorized');

    await a.cas.importCertificate(pending.ca.id, outside.subPem, ACTORS.admin, {
      issuerCertificatePem: outside.rootPem,
    });
    const leafPem = await leafOf(a, pending.ca.id, 'imported.example.test');
    const r = await a.ocsp.respond(opensslOcspRequest({ issuerPem: outside.subPem, leafPem }));
    expect(r.statuses).toEqual(['good']);
    const trustPem = `${outside.rootPem}${outside.subPem}`;
    expect(opensslReads(r.der, { issuerPem: outside.subPem, leafPem, trustPem })).toBe('good');
    expect((await a.ocsp.respond(bySerial)).statuses).toEqual(['unknown']);
  });

  it('serves a CA created by another instance once the recheck window has passed', async () => {
    await unauthorized();
    const made = await rootWithLeaf(b, 'made-by-b');
    const req = opensslOcspRequest({ issuerPem: made.rootPem, leafPem: made.leafPem });
    const started = Date.now();
    let r = await a.ocsp.respond(req);
    while (r.errorStatus === 'unauthorized' && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      r = await a.ocsp.respond(req);
    }
    expect(r.statuses).toEqual(['good']);
    expect(opensslReads(r.der, { issuerPem: made.rootPem, leafPem: made.leafPem })).toBe('good');
  });
});
