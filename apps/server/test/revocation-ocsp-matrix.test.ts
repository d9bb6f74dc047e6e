// Multi-level CA revocation and the OCSP status matrix, over real HTTP (127.0.0.1, ephemeral port),
// every CRL checked by `openssl crl -verify` and every signed OCSP response by `openssl ocsp`
// ("Response verify OK" required, not only the status line).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { listen, openAuthorityFixture, ACTORS, type AuthorityFixture } from './server-test-support';
import { createIssuingCa, createRootCa, type TestCa } from '../../../tests/support/ca-kit';
import { opensslCrlVerify } from '../../../tests/support/verifiers';
import { opensslSelfSigned } from '../../../tests/support/openssl-tools';

const execFileAsync = promisify(execFile);

/** a CA made and checked by openssl (key type, pathlen, chain) in tests/support/ca-kit, with its serial (hex) */
type Ca = TestCa & { serial: string };

/** `openssl ocsp -url` (asynchronous: the server runs in this process). `target` is a cert file or `-serial`. */
async function ocsp(o: {
  url: string;
  issuerPem: string;
  rootPem: string;
  chainPems?: string[];
  certPem?: string;
  serial?: string;
  noNonce?: boolean;
}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-ocsp-matrix-'));
  try {
    writeFileSync(join(dir, 'issuer.pem'), o.issuerPem);
    writeFileSync(join(dir, 'root.pem'), o.rootPem);
    writeFileSync(join(dir, 'other.pem'), [o.issuerPem, ...(o.chainPems ?? [])].join('\n'));
    const args = ['ocsp', '-issuer', join(dir, 'issuer.pem'), '-url', o.url, '-CAfile', join(dir, 'root.pem')];
    args.push('-verify_other', join(dir, 'other.pem'), '-timeout', '10');
    if (o.certPem) {
      writeFileSync(join(dir, 'cert.pem'), o.certPem);
      args.push('-cert', join(dir, 'cert.pem'));
    } else args.push('-serial', o.serial!);
    if (o.noNonce) args.push('-no_nonce');
    const r = await execFileAsync('openssl', args, { timeout: 30_000 }).catch((e: unknown) => {
      const out = e as { stdout?: string; stderr?: string };
      return { stdout: out.stdout ?? '', stderr: out.stderr ?? '' };
    });
    return `${r.stdout}${r.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** asserts a signed OCSP answer with this status for the single certificate asked */
function expectSigned(output: string, status: 'good' | 'revoked' | 'unknown', reason?: string): void {
  expect(output, output).toMatch(/Response verify OK/);
  expect(output, output).toMatch(new RegExp(`: ${status}\\b`));
  if (reason) expect(output, output).toMatch(new RegExp(`Reason: ${reason}`));
}

describe('multi-level CA revocation and the OCSP status matrix over HTTP', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let root: Ca;
  let mid: Ca;
  let sub: Ca;
  let other: Ca;
  const leaves: Record<string, { id: string; pem: string; serial: string }> = {};
  let foreignCaPem: string;

  const headers = () => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

  async function createCa(name: string, parent: Ca | undefined, pathLen: number | undefined): Promise<Ca> {
    const opts = { subject: `CN=${name} CA,O=Matrix`, pathLen, actor: ACTORS.admin };
    const ca = !parent
      ? await createRootCa(fx.authority, name, opts)
      : await createIssuingCa(fx.authority, parent, name, { ...opts, anchor: parent === root ? undefined : root });
    return { ...ca, serial: ca.view.ca.serialHex! };
  }

  async function issue(key: string, ca: Ca): Promise<void> {
    const r = await fetch(`${base}/trpc/certificate.issueWithKey`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        ca: ca.id,
        profile: 'tls-server',
        subject: { commonName: `${key}.matrix.example.com` },
        sans: { dns: [`${key}.matrix.example.com`] },
        keyType: 'ec-p256',
      }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    const body = (await r.json()) as {
      result: { data: { id: string; serial: string; certificatePem: string } };
    };
    const d = body.result.data;
    leaves[key] = { id: d.id, pem: d.certificatePem, serial: d.serial };
  }

  async function revokeLeaf(key: string, reason: string): Promise<void> {
    const r = await fetch(`${base}/api/v1/certificates/${leaves[key]!.id}/revoke`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ reason }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
  }

  async function crlText(ca: Ca, issuerPem: string): Promise<string> {
    const r = await fetch(`${base}/crl/${ca.id}.crl`);
    expect(r.status).toBe(200);
    const der = new Uint8Array(await r.arrayBuffer());
    const v = opensslCrlVerify(der, issuerPem);
    expect(v.ok, v.text).toBe(true);
    return v.text;
  }

  beforeAll(async () => {
    fx = await openAuthorityFixture({ publicBaseUrl: 'http://127.0.0.1:9' });
    root = await createCa('root', undefined, undefined);
    mid = await createCa('mid', root, 2);
    sub = await createCa('sub', mid, 0);
    other = await createCa('other', root, 0);
    token = (await fx.authority.auth.createToken({ name: 'matrix', role: 'admin' }, ACTORS.admin)).token;
    app = await buildServer(fx.authority, { logger: false, processMetrics: false });
    base = await listen(app);
    for (const k of ['subGood', 'subRevoked', 'subCached', 'subLater']) await issue(k, sub);
    await issue('midLeaf', mid);
    await issue('otherLeaf', other);
    foreignCaPem = opensslSelfSigned({
      subject: '/CN=Foreign CA',
      days: 30,
      addext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    }).certPem;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const url = () => `${base}/ocsp`;
  /** `openssl ocsp -url` for a certificate (or serial) of `sub`, verified up to the root through `mid` */
  const askSub = (o: { certPem?: string; serial?: string; noNonce?: boolean }) =>
    ocsp({ url: url(), issuerPem: sub.pem, rootPem: root.pem, chainPems: [mid.pem], ...o });

  it('OCSP good: an active leaf under a three-level chain', async () => {
    expectSigned(await askSub({ certPem: leaves.subGood!.pem }), 'good');
  });

  it('OCSP revoked: a leaf revoked through REST, with its reason', async () => {
    await revokeLeaf('subRevoked', 'keyCompromise');
    expectSigned(await askSub({ certPem: leaves.subRevoked!.pem }), 'revoked', 'keyCompromise');
  });

  it('OCSP unknown: a serial this CA never issued (signed answer)', async () => {
    expectSigned(await askSub({ serial: '0x0badc0ffee' }), 'unknown');
  });

  it('OCSP unauthorized: an issuer this responder does not serve (unsigned error status, per RFC 6960)', async () => {
    const out = await ocsp({ url: url(), issuerPem: foreignCaPem, rootPem: foreignCaPem, serial: '0x01' });
    expect(out, out).toMatch(/Responder Error: unauthorized \(6\)/);
    expect(out).not.toMatch(/: good/);
  });

  it('OCSP: a cached no-nonce good answer is not served after the revocation', async () => {
    const ask = () => askSub({ certPem: leaves.subCached!.pem, noNonce: true });
    expectSigned(await ask(), 'good');
    expectSigned(await ask(), 'good'); // served from the cache
    await revokeLeaf('subCached', 'superseded');
    expectSigned(await ask(), 'revoked', 'superseded');
  });

  it('revoking the middle CA revokes each CA and leaf below (cACompromise), counted; CRLs and OCSP agree', async () => {
    const r = await fetch(`${base}/trpc/ca.revoke`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ id: mid.id, reason: 'keyCompromise' }),
    });
    expect(r.status, await r.clone().text()).toBe(200);
    const result = ((await r.json()) as { result: { data: { revokedCas: number; revokedCertificates: number } } })
      .result.data;
    expect(result.revokedCas).toBe(1); // sub
    expect(result.revokedCertificates).toBe(3); // subGood, subLater, midLeaf (subRevoked and subCached were already)

    const cas = await fx.authority.cas.list();
    const byId = new Map(cas.map((c) => [c.id, c]));
    expect(byId.get(mid.id)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    expect(byId.get(sub.id)).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise' });
    expect(byId.get(other.id)?.status).toBe('active'); // positive control: a sibling branch is untouched
    for (const k of ['subGood', 'subLater', 'midLeaf']) {
      const c = (await fx.authority.certificates.get(leaves[k]!.id)).certificate;
      expect(c, k).toMatchObject({ status: 'revoked', revocationReason: 'cACompromise' });
    }
    expect((await fx.authority.certificates.get(leaves.subRevoked!.id)).certificate.revocationReason).toBe(
      'keyCompromise',
    );

    // CRLs: the root lists mid, mid lists sub and its own leaf, sub lists its leaves (all verified by openssl)
    const upper = (s: string) => s.toUpperCase();
    const rootCrl = await crlText(root, root.pem);
    expect(upper(rootCrl)).toContain(upper(mid.serial));
    const midCrl = await crlText(mid, mid.pem);
    expect(upper(midCrl)).toContain(upper(sub.serial));
    expect(upper(midCrl)).toContain(upper(leaves.midLeaf!.serial));
    expect(midCrl).toMatch(/CA Compromise/);
    const subCrl = await crlText(sub, sub.pem);
    for (const k of ['subGood', 'subRevoked', 'subCached', 'subLater'])
      expect(upper(subCrl), k).toContain(upper(leaves[k]!.serial));
    expect(subCrl).toMatch(/CA Compromise/);

    // OCSP: the sub-CA certificate (asked of its issuer, mid) and the leaves say revoked
    expectSigned(
      await ocsp({ url: url(), issuerPem: mid.pem, rootPem: root.pem, certPem: sub.pem }),
      'revoked',
      'cACompromise',
    );
    expectSigned(
      await ocsp({ url: url(), issuerPem: root.pem, rootPem: root.pem, certPem: mid.pem }),
      'revoked',
      'keyCompromise',
    );
    expectSigned(await askSub({ certPem: leaves.subGood!.pem }), 'revoked', 'cACompromise');
    expectSigned(
      await ocsp({ url: url(), issuerPem: mid.pem, rootPem: root.pem, certPem: leaves.midLeaf!.pem }),
      'revoked',
      'cACompromise',
    );
    expectSigned(
      await ocsp({ url: url(), issuerPem: other.pem, rootPem: root.pem, certPem: leaves.otherLeaf!.pem }),
      'good',
    );
  });

  it('a second revocation of the same CA is ca.already_revoked (409) and changes nothing', async () => {
    const before = await fx.authority.audit.verify();
    const r = await fetch(`${base}/trpc/ca.revoke`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({ id: mid.id, reason: 'superseded' }),
    });
    expect(r.status).toBe(409);
    const body = (await r.json()) as { error: { data: { pkiCode: string } } };
    expect(body.error.data.pkiCode).toBe('ca.already_revoked');
    expect((await fx.authority.cas.get(mid.id)).ca.revocationReason).toBe('keyCompromise');
    const after = await fx.authority.audit.verify();
    expect(after.ok).toBe(true);
    expect(after.count).toBe(before.count + 1); // only the ca.revoke_failed event
  });
});
