// Pre-signed OCSP responses beyond SHA-1 leaves (docs/ocsp.md): a SHA-256 CertID (`openssl ocsp -sha256`) gets a
// stored response of its own — the response echoes the request's CertID, so it cannot share the SHA-1 one — which a
// revocation and the refresh job sign again like the SHA-1 one; the certificate of a subordinate CA is pre-signed by
// its parent like a leaf, served as stored without reading the CA list, and re-signed when the CA is revoked (by
// another instance here). Every answer is read by `openssl ocsp`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import type { Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { buildServer } from '@pkim/server';
import { opensslOcspCheck, opensslOcspRequest, opensslOcspUrl } from '../../../tests/support/verifiers';
import { ACTORS, listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { ocspPki, type OcspPki } from './ocsp-test-support';

/** what these tests read of a stored response (`ocsp_responses` row) */
interface OcspResponseRow {
  der: string;
  statusKey: string;
  hashAlg: string;
  thisUpdate: number;
  refreshAt: number;
}
/** `openssl ocsp -sha256 -no_nonce -reqout` for a certificate of `issuerPem` */
const sha256Request = (issuerPem: string, certPem: string) =>
  opensslOcspRequest({ issuerPem, leafPem: certPem, hash: 'sha256' });

/** `openssl ocsp -respin … -reqin <request>`: verified against the root; the status and the CertID's hash */
function read(der: Uint8Array, o: { issuerPem: string; rootPem: string; certPem: string; requestDer: Uint8Array }) {
  const r = opensslOcspCheck({
    responseDer: der,
    issuerPem: o.issuerPem,
    caFilePem: o.rootPem,
    leafPem: o.certPem,
    requestDer: o.requestDer,
  });
  expect(r.output, r.output).toMatch(/Response verify OK/);
  return {
    status: /Cert Status: (good|revoked|unknown)/.exec(r.output)?.[1],
    hash: /Hash Algorithm: (\w+)/.exec(r.output)?.[1],
    reason: /Revocation Reason: (\w+)/.exec(r.output)?.[1],
  };
}

const same = (der: Uint8Array, row: OcspResponseRow | undefined) =>
  row !== undefined && Buffer.from(der).equals(Buffer.from(row.der, 'base64'));

describe('pre-signed OCSP responses for SHA-256 CertIDs and subordinate CA certificates', () => {
  const clock = fixedClock(Date.now());
  let fx: AuthorityFixture;
  let a: Authority;
  let b: Authority;
  let app: FastifyInstance;
  let base: string;
  let p: OcspPki;
  let rootPem: string;
  let rootId: string;
  let issuing: { id: string; pem: string; serial: string };
  let leaves: OcspPki['leaves'];

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock });
    a = fx.authority;
    b = await fx.openSecond();
    p = await ocspPki(a, 'h256', 2);
    ({ rootPem, rootId, leaves } = p);
    issuing = { id: p.issuingId, pem: p.issuingPem, serial: p.issuingSerial };
    app = await buildServer(a, { logger: false, backgroundJobs: false });
    base = await listen(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const store = () => internalsOf(a).store.ocspResponses;

  it('stores a SHA-256 answer of its own, served byte for byte, also to `openssl ocsp -sha256 -url`', async () => {
    const leaf = leaves[0]!;
    const req = sha256Request(issuing.pem, leaf.pem);
    const first = await a.ocsp.respond(req);
    const row = (await store().lookup(issuing.id, leaf.serial, 'sha256'))?.response;
    expect(row?.hashAlg).toBe('sha256');
    expect(same(first.der, row)).toBe(true);
    clock.advance(2_000);
    const second = await a.ocsp.respond(req);
    expect(Buffer.from(second.der).equals(Buffer.from(first.der))).toBe(true);
    expect(read(second.der, { issuerPem: issuing.pem, rootPem, certPem: leaf.pem, requestDer: req })).toEqual({
      status: 'good',
      hash: 'sha256',
      reason: undefined,
    });
    // the SHA-1 answer is another response (it echoes another CertID)
    const sha1Req = opensslOcspRequest({ issuerPem: issuing.pem, leafPem: leaf.pem });
    const sha1 = await a.ocsp.respond(sha1Req);
    expect(same(sha1.der, (await store().lookup(issuing.id, leaf.serial))?.response)).toBe(true);
    expect(Buffer.from(sha1.der).equals(Buffer.from(first.der))).toBe(false);
    expect(read(sha1.der, { issuerPem: issuing.pem, rootPem, certPem: leaf.pem, requestDer: sha1Req }).hash).toBe(
      'sha1',
    );

    // a real client over HTTP: openssl builds the SHA-256 request, posts it, verifies and matches the answer
    const out = await opensslOcspUrl({
      url: `${base}/ocsp`,
      issuerPem: issuing.pem,
      rootPem,
      leafPem: leaf.pem,
      hash: 'sha256',
    });
    expect(out, out).toMatch(/Response verify OK/);
    expect(out, out).toMatch(/leaf\.pem: good/);
    expect(out, out).toMatch(/Hash Algorithm: sha256/);
  });

  it('signs the SHA-1 and SHA-256 responses of a revoked certificate again at once', async () => {
    const leaf = leaves[0]!;
    await a.certificates.revoke(leaf.id, 'keyCompromise', ACTORS.admin);
    let rows: (OcspResponseRow | undefined)[] = [];
    for (let i = 0; i < 100; i++) {
      rows = [
        (await store().lookup(issuing.id, leaf.serial))?.response,
        (await store().lookup(issuing.id, leaf.serial, 'sha256'))?.response,
      ];
      if (rows.every((r) => r?.statusKey.startsWith('revoked:'))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(rows.map((r) => r?.statusKey.replace(/\d+/, 'T'))).toEqual(['revoked:T:1', 'revoked:T:1']);
    const req = sha256Request(issuing.pem, leaf.pem);
    const r = await a.ocsp.respond(req);
    expect(same(r.der, rows[1])).toBe(true);
    expect(read(r.der, { issuerPem: issuing.pem, rootPem, certPem: leaf.pem, requestDer: req })).toEqual({
      status: 'revoked',
      hash: 'sha256',
      reason: 'keyCompromise',
    });
  });

  it('signs stored SHA-256 responses again before their nextUpdate, like SHA-1 ones', async () => {
    const leaf = leaves[1]!;
    const req = sha256Request(issuing.pem, leaf.pem);
    await a.ocsp.respond(req);
    const before = (await store().lookup(issuing.id, leaf.serial, 'sha256'))!.response!;
    const now = clock.now();
    clock.set(before.refreshAt + 1);
    try {
      const run = await a.maintenance.refreshOcsp();
      expect(run.failed).toBe(0);
      const after = (await store().lookup(issuing.id, leaf.serial, 'sha256'))!.response!;
      expect(after.thisUpdate).toBe(clock.now());
      const r = await a.ocsp.respond(req);
      expect(same(r.der, after)).toBe(true);
      const o = read(r.der, { issuerPem: issuing.pem, rootPem, certPem: leaf.pem, requestDer: req });
      expect(o).toEqual({ status: 'good', hash: 'sha256', reason: undefined });
    } finally {
      clock.set(now);
    }
  });

  it("pre-signs a subordinate CA's certificate, served without a CA list read, re-signed when revoked", async () => {
    await a.maintenance.refreshOcsp();
    const row = (await store().lookupSubordinateCa(rootId, issuing.serial))?.response;
    expect(row?.statusKey).toBe('good');
    const req = opensslOcspRequest({ issuerPem: rootPem, leafPem: issuing.pem });
    const req256 = sha256Request(rootPem, issuing.pem);
    const cas = internalsOf(a).store.cas;
    const list = cas.list.bind(cas);
    let listReads = 0;
    cas.list = () => {
      listReads++;
      return list();
    };
    try {
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await a.ocsp.respond(req));
      expect(answers.every((x) => same(x.der, row))).toBe(true);
      const first256 = await a.ocsp.respond(req256);
      expect(same(first256.der, (await store().lookupSubordinateCa(rootId, issuing.serial, 'sha256'))?.response)).toBe(
        true,
      );
      expect(listReads).toBe(0);
      expect(read(answers[0]!.der, { issuerPem: rootPem, rootPem, certPem: issuing.pem, requestDer: req })).toEqual({
        status: 'good',
        hash: 'sha1',
        reason: undefined,
      });
    } finally {
      cas.list = list;
    }

    // the other instance revokes the issuing CA: this one answers "revoked" at its first request after its 500 ms
    // recheck window (answers come from memory at most that long, in clock time; then the stored "good" no longer
    // matches the CA's status), and the revoking instance signs both stored responses again
    await a.ocsp.respond(req); // kept in a's memory
    await b.cas.revokeCa(issuing.id, 'superseded', ACTORS.admin);
    clock.advance(500);
    const next = await a.ocsp.respond(req);
    expect(read(next.der, { issuerPem: rootPem, rootPem, certPem: issuing.pem, requestDer: req })).toEqual({
      status: 'revoked',
      hash: 'sha1',
      reason: 'superseded',
    });
    let rows: (OcspResponseRow | undefined)[] = [];
    for (let i = 0; i < 100; i++) {
      rows = [
        (await store().lookupSubordinateCa(rootId, issuing.serial))?.response,
        (await store().lookupSubordinateCa(rootId, issuing.serial, 'sha256'))?.response,
      ];
      if (rows.every((r) => r?.statusKey.startsWith('revoked:'))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(rows.map((r) => r?.statusKey.replace(/\d+/, 'T'))).toEqual(['revoked:T:4', 'revoked:T:4']);
    const stored256 = await a.ocsp.respond(req256);
    expect(same(stored256.der, rows[1])).toBe(true);
    expect(read(stored256.der, { issuerPem: rootPem, rootPem, certPem: issuing.pem, requestDer: req256 })).toEqual({
      status: 'revoked',
      hash: 'sha256',
      reason: 'superseded',
    });
  });
});
