// A leaf that would outlive its CA, through the native REST API (`POST /api/v1/cas/:id/sign`; docs/profiles.md, "A
// leaf and its CA's end"): a profile's default lifetime past the CA's notAfter ends with the CA; a lifetime asked past
// it follows the CA's `leafNotAfterBehavior` — `err` (every new CA's) 422 `lint.lifetime_beyond_issuer` and nothing
// issued, `truncate` the CA's notAfter, `permit` as asked (and openssl then refuses the chain once the CA has
// expired). The behaviour is set through the native route (`PUT /api/v1/cas/:id/leaf-not-after`, tRPC
// `ca.setLeafNotAfterBehavior`; the Vault API's `issuer/:ref` write is vault-leaf-not-after.test.ts): audited, a bad
// value 400 and nothing changed. openssl reads every end date and verifies every certificate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
  type AuthorityFixture,
} from './server-test-support';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';

const DAY = 86_400_000;

describe('a leaf past its CA’s end over REST', { timeout: 120_000 }, () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base = '';
  let token = '';
  let rootPem = '';
  let caPem = '';
  let caEnd = 0;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const a = fx.authority;
    const root = await createRootCa(a, 'root');
    rootPem = root.pem;
    // tls-server's default lifetime is 90 days: more than this CA has left
    const short = await createIssuingCa(a, root, 'short', { validityMs: 30 * DAY });
    caPem = short.pem;
    caEnd = short.view.ca.notAfter!;
    token = (await a.auth.createToken({ name: 'leaf-end', role: 'admin' }, ACTORS.admin)).token;
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  const sign = async (cn: string, ttl?: string) => {
    const { csrPem } = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] });
    const r = await fetch(`${base}/api/v1/cas/short/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ csr: csrPem, profile: 'tls-server', ...(ttl ? { ttl } : {}) }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  /** openssl's notAfter of a PEM, in ms */
  const endOf = (pem: string) =>
    Date.parse(
      opensslRaw(['x509', '-noout', '-enddate'], Buffer.from(pem))
        .stdout.trim()
        .replace(/^notAfter=/, ''),
    );
  const verifies = (pem: string, atMs?: number) =>
    opensslVerify({
      leafPem: pem,
      chainPems: [caPem],
      rootPem,
      purpose: 'sslserver',
      ...(atMs === undefined ? {} : { atTime: Math.floor(atMs / 1000) }),
    });
  const setBehavior = async (behavior: string) => {
    const r = await fetch(`${base}/api/v1/cas/short/leaf-not-after`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ behavior }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const issuedCount = async () => (await fx.authority.certificates.list({ caId: 'short', limit: 100 })).items.length;

  it('a default lifetime past the CA ends with the CA', async () => {
    expect(endOf(caPem)).toBe(caEnd);
    const r = await sign('default.example.com');
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const pem = r.body.certificatePem as string;
    expect(endOf(pem)).toBe(caEnd);
    const v = verifies(pem);
    expect(v.ok, v.output).toBe(true);
  });

  it('err (the default): a lifetime asked past the CA is refused, 422 lint.lifetime_beyond_issuer', async () => {
    expect((await fx.authority.cas.get('short')).ca.leafNotAfterBehavior).toBe('err');
    const before = await issuedCount();
    const r = await sign('asked.example.com', '60d');
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({ code: 'lint.lifetime_beyond_issuer' });
    expect(await issuedCount()).toBe(before);
    // within the CA's life: as asked
    const ok = await sign('within.example.com', '10d');
    expect(ok.status).toBe(201);
    expect(endOf(ok.body.certificatePem as string)).toBeLessThan(caEnd);
    expect(verifies(ok.body.certificatePem as string).ok).toBe(true);
  });

  it('truncate ends the leaf at the CA’s notAfter; permit signs it as asked', async () => {
    const set = await setBehavior('truncate');
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toMatchObject({ name: 'short', leafNotAfterBehavior: 'truncate' });
    const audit = await fx.authority.audit.list({ action: 'ca.leaf_not_after_configured', limit: 10 });
    expect(audit.map((e) => e.details)).toContainEqual({ from: 'err', to: 'truncate' });
    // a bad value: 400 input.invalid, the CA's behaviour unchanged
    const bad = await setBehavior('forever');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'input.invalid' });
    expect((await fx.authority.cas.get('short')).ca.leafNotAfterBehavior).toBe('truncate');
    const cut = await sign('cut.example.com', '60d');
    expect(cut.status, JSON.stringify(cut.body)).toBe(201);
    expect(endOf(cut.body.certificatePem as string)).toBe(caEnd);
    expect(verifies(cut.body.certificatePem as string).ok).toBe(true);

    expect((await setBehavior('permit')).body).toMatchObject({ leafNotAfterBehavior: 'permit' });
    const long = await sign('long.example.com', '60d');
    expect(long.status, JSON.stringify(long.body)).toBe(201);
    const pem = long.body.certificatePem as string;
    expect(endOf(pem)).toBeGreaterThan(caEnd + 29 * DAY);
    expect(verifies(pem).ok).toBe(true);
    // a day after the CA's end the leaf is still in its validity, the chain is not
    const after = verifies(pem, caEnd + DAY);
    expect(after.ok).toBe(false);
    expect(after.output).toMatch(/certificate has expired/);
    expect((await setBehavior('err')).body).toMatchObject({ leafNotAfterBehavior: 'err' });
  });
});
