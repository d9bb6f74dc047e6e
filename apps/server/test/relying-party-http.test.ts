import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { toPem } from '@pkim/core';
import { buildServer } from '@pkim/server';
import type { Authority } from '@pkim/authority';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
  type AuthorityFixture,
} from './server-test-support';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import {
  opensslCrlVerify,
  opensslOcspCheck,
  opensslOcspUrl,
  opensslRaw,
  opensslVerify,
} from '../../../tests/support/verifiers';

function ocspRequestDer(issuerPem: string, leafPem: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-ocspreq-'));
  try {
    writeFileSync(join(dir, 'issuer.pem'), issuerPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const r = opensslRaw([
      'ocsp',
      '-issuer',
      join(dir, 'issuer.pem'),
      '-cert',
      join(dir, 'leaf.pem'),
      '-reqout',
      join(dir, 'req.der'),
      '-no_nonce',
    ]);
    if (r.status !== 0) throw new Error(r.output);
    return readFileSync(join(dir, 'req.der'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * how long a poll waits for a change to show: far beyond need (the recheck windows are 0.5–1 s), as each check runs
 * openssl and a loaded machine can take seconds per step; it still tells "reflected" from the 60 s response reuse
 */
const POLL_MS = 30_000;

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('relying-party endpoints over real HTTP (openssl as the client)', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let rootPem: string;
  let intPem: string;
  let intId: string;
  let token: string;

  const issueLeaf = async (cn: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const r = await fetch(`${base}/api/v1/cas/${intId}/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: csrPem, profile: 'tls-server', ttl: '30d' }),
    });
    expect(r.status).toBe(201);
    return (await r.json()) as { certificate: string; chain: string; serial: string; id: string };
  };

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    const root = await createRootCa(authority, 'rp-root', {
      subject: { commonName: 'RP Root CA', country: 'US' },
      keyType: 'ec-p384',
    });
    const int = await createIssuingCa(authority, root, 'rp-issuing', {
      subject: { commonName: 'RP Issuing CA', country: 'US' },
      pathLen: 0,
    });
    rootPem = root.pem;
    intPem = int.pem;
    intId = int.id;
    token = (await authority.auth.createToken({ name: 'rp-test', role: 'operator' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('signs a CSR over REST into a certificate that openssl verifies against the served chain', async () => {
    const leaf = await issueLeaf('www.example.test');
    expect(leaf.serial).toMatch(/^[0-9a-f]+$/);
    const bundle = await fetch(`${base}/api/v1/cas/${intId}/bundle`, { headers: { authorization: `Bearer ${token}` } });
    expect(bundle.headers.get('content-type')).toContain('application/pem-certificate-chain');
    const chain = await bundle.text();
    expect(
      opensslVerify({
        leafPem: leaf.certificate,
        chainPems: [chain],
        rootPem,
        purpose: 'sslserver',
        hostname: 'www.example.test',
      }).ok,
    ).toBe(true);
  });

  it('answers openssl ocsp -url with good, then revoked with its reason after an API revocation', async () => {
    const leaf = await issueLeaf('api-revoked.example.test');
    const before = await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate });
    expect(before).toMatch(/Response verify OK/);
    expect(before).toMatch(/leaf\.pem: good/);

    const r = await fetch(`${base}/api/v1/certificates/${leaf.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'keyCompromise' }),
    });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { status: string }).status).toBe('revoked');

    await until(
      async () =>
        (await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate })).includes(
          'leaf.pem: revoked',
        ),
      POLL_MS,
    );
    const after = await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate });
    expect(after).toMatch(/Response verify OK/);
    expect(after).toMatch(/Reason: keyCompromise/);
  });

  it('reflects a revocation by another instance on the same database (the CLI) in OCSP and the CRL', async () => {
    const leaf = await issueLeaf('cli-revoked.example.test');
    expect(
      await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate }),
    ).toMatch(/leaf\.pem: good/);
    const crlBefore = Buffer.from(await (await fetch(`${base}/crl/${intId}.crl`)).arrayBuffer());

    const cli = await fx.openSecond();
    await cli.certificates.revoke(leaf.serial, 'superseded', { id: 'cli:root', role: 'admin' });

    await until(
      async () =>
        (await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate })).includes(
          'leaf.pem: revoked',
        ),
      POLL_MS,
    );
    expect(
      await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate }),
    ).toMatch(/Reason: superseded/);

    await until(async () => {
      const der = Buffer.from(await (await fetch(`${base}/crl/${intId}.crl`)).arrayBuffer());
      return (
        !der.equals(crlBefore) && opensslCrlVerify(der, intPem).text.toUpperCase().includes(leaf.serial.toUpperCase())
      );
    }, POLL_MS);
  });

  it('serves a CRL (DER, PEM) openssl crl -verify accepts, listing revoked serials; bounded cache, ETag', async () => {
    const leaf = await issueLeaf('crl-listed.example.test');
    await authority.certificates.revoke(leaf.id, 'cessationOfOperation', ACTORS.admin);
    // the authority re-checks the revocation state at most every second: poll like a relying party would
    await until(
      async () =>
        opensslCrlVerify(new Uint8Array(await (await fetch(`${base}/crl/${intId}.crl`)).arrayBuffer()), intPem)
          .text.toUpperCase()
          .includes(leaf.serial.toUpperCase()),
      POLL_MS,
    );
    const r = await fetch(`${base}/crl/${intId}.crl`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pkix-crl');
    const maxAge = Number(/max-age=(\d+)/.exec(r.headers.get('cache-control') ?? '')?.[1]);
    expect(maxAge).toBeLessThanOrEqual(5);
    const etag = r.headers.get('etag');
    expect(etag).toBeTruthy();
    const der = new Uint8Array(await r.arrayBuffer());
    const v = opensslCrlVerify(der, intPem);
    expect(v.ok).toBe(true);
    expect(v.text.toUpperCase()).toContain(leaf.serial.toUpperCase());
    expect(v.text).toContain('Cessation Of Operation');

    const again = await fetch(`${base}/crl/${intId}.crl`, { headers: { 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    // weak comparison (RFC 9110 §13.1.2): a compressing proxy's W/ tag, and `*`, revalidate too
    for (const inm of [`W/${etag!}`, '*']) {
      const weak = await fetch(`${base}/crl/${intId}.crl`, { headers: { 'if-none-match': inm } });
      expect(weak.status, inm).toBe(304);
    }

    const pem = await fetch(`${base}/crl/${intId}.pem`);
    const pemText = await pem.text();
    expect(pemText).toMatch(/^-----BEGIN X509 CRL-----/);
    expect(opensslRaw(['crl', '-noout', '-text'], Buffer.from(pemText)).stdout.toUpperCase()).toContain(
      leaf.serial.toUpperCase(),
    );

    // the CA's name works wherever its id does: the same CRL
    const byName = await fetch(`${base}/crl/rp-issuing.crl`);
    expect(byName.status).toBe(200);
    expect(
      Buffer.from(await byName.arrayBuffer()).equals(
        Buffer.from(await (await fetch(`${base}/crl/${intId}.crl`)).arrayBuffer()),
      ),
    ).toBe(true);
    expect((await fetch(`${base}/crl/no-such-ca.crl`)).status).toBe(404);
  });

  it('serves the issuing CA certificate at /aia/<caId>.crt, and it verifies the leaf', async () => {
    const leaf = await issueLeaf('aia.example.test');
    const r = await fetch(`${base}/aia/${intId}.crt`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pkix-cert');
    const aiaPem = toPem(new Uint8Array(await r.arrayBuffer()), 'CERTIFICATE');
    expect(opensslVerify({ leafPem: leaf.certificate, chainPems: [aiaPem], rootPem, purpose: 'sslserver' }).ok).toBe(
      true,
    );
    expect((await fetch(`${base}/aia/ca_doesnotexist.crt`)).status).toBe(404);
    const byName = await fetch(`${base}/aia/rp-issuing.crt`);
    expect(byName.status).toBe(200);
    expect(toPem(new Uint8Array(await byName.arrayBuffer()), 'CERTIFICATE')).toBe(aiaPem);
  });

  it('answers OCSP over GET with the base64 request in the URL (RFC 5019), cacheable for a few seconds', async () => {
    const leaf = await issueLeaf('get.example.test');
    const req = ocspRequestDer(intPem, leaf.certificate);
    const r = await fetch(`${base}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/ocsp-response');
    expect(Number(/max-age=(\d+)/.exec(r.headers.get('cache-control') ?? '')?.[1])).toBeLessThanOrEqual(5);
    const der = new Uint8Array(await r.arrayBuffer());
    const check = opensslOcspCheck({
      responseDer: der,
      issuerPem: intPem,
      caFilePem: `${rootPem}\n${intPem}`,
      leafPem: leaf.certificate,
    });
    expect(check.ok).toBe(true);
    expect(check.output).toMatch(/: good/);
    // RFC 5019 §6.2: Last-Modified = thisUpdate, Expires = nextUpdate (as openssl reads them in the response), ETag
    const gmt = (label: string) => {
      const m = new RegExp(`${label}: (\\w+) +(\\d+) (\\S+) (\\d+) GMT`).exec(check.output);
      return m ? new Date(`${m[1]} ${m[2]} ${m[4]} ${m[3]} GMT`).toUTCString() : `no ${label} in ${check.output}`;
    };
    expect(r.headers.get('last-modified')).toBe(gmt('This Update'));
    expect(r.headers.get('expires')).toBe(gmt('Next Update'));
    const etag = r.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await fetch(`${base}/ocsp/${encodeURIComponent(Buffer.from(req).toString('base64'))}`, {
      headers: { 'if-none-match': etag! },
    });
    expect(again.status).toBe(304);
    // a machine answer: the data headers (nosniff, CORP for clients anywhere), none of the document-only ones
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(r.headers.get('origin-agent-cluster')).toBeNull();
  });

  it('answers a truncated OCSP request with an OCSP malformedRequest response, and keeps serving', async () => {
    const leaf = await issueLeaf('truncated.example.test');
    const req = ocspRequestDer(intPem, leaf.certificate);
    const r = await fetch(`${base}/ocsp`, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: req.subarray(0, req.length - 7),
    });
    expect(r.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'pkim-ocspresp-'));
    writeFileSync(join(dir, 'resp.der'), new Uint8Array(await r.arrayBuffer()));
    const out = opensslRaw(['ocsp', '-respin', join(dir, 'resp.der'), '-resp_text', '-noverify']);
    rmSync(dir, { recursive: true, force: true });
    expect(out.output.toLowerCase()).toContain('malformedrequest');
    expect(
      await opensslOcspUrl({ url: `${base}/ocsp`, issuerPem: intPem, rootPem, leafPem: leaf.certificate }),
    ).toMatch(/leaf\.pem: good/);
  });

  it('counts OCSP responses by status in /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/pkim_ocsp_responses_total\{status="good"\} \d+/);
    expect(text).toMatch(/pkim_ocsp_responses_total\{status="revoked"\} \d+/);
    expect(text).toMatch(/pkim_ocsp_responses_total\{status="malformedRequest"\} 1/);
  });
});
