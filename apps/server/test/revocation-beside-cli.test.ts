// A server and other connections on one SQLite data dir: what they commit reaches the server's relying-party caches
// at its next request, through Store.otherCommits (PRAGMA data_version), not after a recheck window — a certificate
// revoked by the real CLI (`pkim cert revoke`, another process) is answered revoked by the next OCSP request (POST
// and GET) and listed by the next CRL; a CA created by another authority is known to the next OCSP request for one of
// its certificates; a per-CA OCSP validity written by another process (sqlite3) applies to the next signed answer.
// The server's clock stands still, so none of the windows (answers 500 ms, issuers and validity 1 s, CRL 1 s: all
// clock time) runs out while the CLI runs (≈ 1–2 s under load). Every answer is checked by `openssl ocsp`, every CRL
// by openssl, certtool and Go.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { fixedClock } from '@pkim/shared';
import { buildServer } from '@pkim/server';
import { runPkimAsync } from '../../../tests/support/cli-runner';
import { opensslCrlVerify, opensslOcspRequest, requireBinary } from '../../../tests/support/verifiers';
import { listen, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { checked, ocspPki, statusOf, type OcspPki } from './ocsp-test-support';

const OCSP = 'application/ocsp-request';

describe('revocation data written beside a running server (SQLite)', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let url: string;
  let p: OcspPki;
  const now = Date.now();
  const pkim = (...args: string[]) => runPkimAsync(args, { dataDir: fx.dataDir });

  beforeAll(async () => {
    fx = await openAuthorityFixture({ clock: fixedClock(now) });
    p = await ocspPki(fx.authority, 'beside', 2);
    app = await buildServer(fx.authority, {
      logger: false,
      rateLimit: false,
      relyingPartyRateLimit: false,
      backgroundJobs: false,
      console: false,
    });
    url = await listen(app);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const ocspPost = async (req: Uint8Array) =>
    new Uint8Array(
      await (
        await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': OCSP }, body: req })
      ).arrayBuffer(),
    );
  const ocspGet = async (req: Uint8Array) =>
    new Uint8Array(
      await (await fetch(`${url}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`)).arrayBuffer(),
    );
  const status = (der: Uint8Array, leafPem: string, pki = p) =>
    statusOf(checked({ der, issuingPem: pki.issuingPem, rootPem: pki.rootPem, leafPem }));
  const crl = async () => {
    const der = new Uint8Array(await (await fetch(`${url}/crl/${p.issuingId}.crl`)).arrayBuffer());
    const v = opensslCrlVerify(der, p.issuingPem);
    expect(v.ok, v.text).toBe(true);
    return v.text.toUpperCase();
  };

  it('a certificate revoked by `pkim cert revoke` is revoked in the next OCSP answer and CRL', async () => {
    const leaf = p.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem });
    // the server now holds the answers (POST and GET share them) and the CRL
    expect(status(await ocspPost(req), leaf.pem)).toBe('good');
    expect(status(await ocspGet(req), leaf.pem)).toBe('good');
    expect(await crl()).not.toContain(leaf.serial.toUpperCase());
    const revoked = await pkim('cert', 'revoke', leaf.id, '--reason', 'keyCompromise');
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(status(await ocspPost(req), leaf.pem)).toBe('revoked');
    expect(status(await ocspGet(req), leaf.pem)).toBe('revoked');
    expect(await crl()).toContain(leaf.serial.toUpperCase());
  }, 60_000);

  it('a CA created by another authority on the file is known to the next OCSP request', async () => {
    // the server has read its issuers (the test above); an unknown issuer between rechecks is not looked up again
    const second = await fx.openSecond({ clock: fixedClock(now) });
    const other = await ocspPki(second, 'other', 1);
    const leaf = other.leaves[0]!;
    const req = opensslOcspRequest({ issuerPem: other.issuingPem, leafPem: leaf.pem });
    expect(status(await ocspPost(req), leaf.pem, other)).toBe('good');
  }, 60_000);

  it('a per-CA OCSP validity written by another process applies to the next signed answer', async () => {
    requireBinary('sqlite3');
    const leaf = p.leaves[1]!;
    const withNonce = () => opensslOcspRequest({ issuerPem: p.issuingPem, leafPem: leaf.pem, nonce: true });
    /** nextUpdate − thisUpdate of a nonce answer (signed per request with the CA's validity), in hours */
    const validityHours = async () => {
      const requestDer = withNonce();
      const der = await ocspPost(requestDer);
      const out = checked({ der, issuingPem: p.issuingPem, rootPem: p.rootPem, leafPem: leaf.pem, requestDer });
      const at = (name: string) => Date.parse(new RegExp(`${name}: (.+)`).exec(out)![1]!);
      return (at('Next Update') - at('This Update')) / 3_600_000;
    };
    expect(await validityHours()).toBe(24); // the default, now remembered by the server
    const key = `ca.ocsp_validity_ms.${p.issuingId}`;
    execFileSync('sqlite3', [
      join(fx.dataDir, 'pkim.db'),
      `insert or replace into settings (key, value) values ('${key}', '7200000')`,
    ]);
    expect(await validityHours()).toBe(2);
  }, 60_000);
});
