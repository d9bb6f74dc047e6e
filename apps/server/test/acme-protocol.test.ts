// The ACME protocol over real HTTP (127.0.0.1) with a small jose-based client: RFC 8555 problem documents for
// bad signatures, replayed nonces, failed challenges, identifiers outside policy and CSRs that do not match the
// order; key rollover, account deactivation, external account binding, rate limits, revocation with the
// certificate's key and renewal information (RFC 9773). Issued certificates are verified by openssl.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, importPKCS8, FlattenedSign, base64url } from 'jose';
import { fromPem, parseCertificate, splitPemBundle } from '@pkim/core';
import { internalsOf } from '@pkim/authority/internals';
import {
  ACME_ERROR as P,
  acmeTestClient,
  eabFor,
  openAcmeFixture,
  pollAcme as poll,
  register,
  type AcmeFixture,
  type AcmeHttp,
  type AcmeTestClient,
} from '../../../tests/support/acme-kit';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { TEST_ADMIN } from '../../../tests/support/test-kit';

function expectProblem(r: AcmeHttp, status: number, type: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.json.type, r.text).toBe(P + type);
  expect(typeof r.json.detail).toBe('string');
  expect(r.headers.get('replay-nonce')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
}

const csrB64 = (pem: string) => Buffer.from(fromPem(pem, 'CERTIFICATE REQUEST')).toString('base64url');

/** answers http-01 challenges on the fixture's validation port with `answer(token)` */
function challengeServer(port: number, answer: (token: string) => string): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      const token = (req.url ?? '').split('/').pop() ?? '';
      res.writeHead(200, { 'content-type': 'text/plain' }).end(answer(token));
    });
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

async function thumbprint(jwk: import('jose').JWK): Promise<string> {
  const { calculateJwkThumbprint } = await import('jose');
  return calculateJwkThumbprint(jwk, 'sha256');
}

describe('ACME protocol (RFC 8555) over HTTP', () => {
  let fx: AcmeFixture;
  let c: AcmeTestClient;
  let good: Server | undefined;

  beforeAll(async () => {
    fx = await openAcmeFixture({ ordersPerHour: 50 });
    c = await acmeTestClient(fx.directoryUrl);
  }, 60_000);
  afterAll(async () => {
    good?.close();
    await fx?.close();
  });

  /** an order for `names` whose http-01 challenges are answered correctly, finalized with a matching CSR */
  async function issue(client: AcmeTestClient, names: string[]) {
    const tp = await thumbprint(client.jwk);
    const server = await challengeServer(fx.http01Port, (t) => `${t}.${tp}`);
    try {
      const order = await client.post(client.directory.newOrder!, {
        identifiers: names.map((value) => ({ type: 'dns', value })),
      });
      expect(order.status, order.text).toBe(201);
      for (const az of order.json.authorizations as string[]) {
        const authz = (await client.post(az, undefined)).json;
        const ch = authz.challenges.find((x: { type: string }) => x.type === 'http-01');
        const r = await client.post(ch.url, {});
        expect(r.status, r.text).toBe(200);
        expect(r.headers.get('link')).toContain('rel="up"');
        await poll(client, az, (j) => j.status !== 'pending');
      }
      const orderUrl = order.headers.get('location')!;
      await poll(client, orderUrl, (j) => j.status === 'ready');
      const { csrPem, keyPem } = opensslCsr({
        keyType: 'ec-p256',
        subject: `/CN=${names[0]}`,
        sans: names.map((n) => `DNS:${n}`),
      });
      const fin = await client.post(order.json.finalize, { csr: csrB64(csrPem) });
      expect(fin.status, fin.text).toBe(200);
      expect(fin.json.status).toBe('valid');
      const cert = await client.post(fin.json.certificate, undefined);
      expect(cert.status).toBe(200);
      expect(cert.headers.get('content-type')).toMatch(/^application\/pem-certificate-chain/);
      const pems = splitPemBundle(cert.text).map((d) => Buffer.from(d));
      const toPemStr = (d: Buffer) =>
        `-----BEGIN CERTIFICATE-----\n${d
          .toString('base64')
          .replace(/(.{64})/g, '$1\n')
          .trim()}\n-----END CERTIFICATE-----\n`;
      return { leafPem: toPemStr(pems[0]!), chain: pems.slice(1).map(toPemStr), keyPem, orderUrl };
    } finally {
      await new Promise((r) => server.close(r));
    }
  }

  it('serves the directory and nonces (HEAD 200, GET 204, no-store)', async () => {
    expect(Object.keys(c.directory).sort()).toEqual(
      ['keyChange', 'meta', 'newAccount', 'newNonce', 'newOrder', 'renewalInfo', 'revokeCert'].sort(),
    );
    const head = await fetch(c.directory.newNonce!, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-store');
    const get = await fetch(c.directory.newNonce!);
    expect(get.status).toBe(204);
    expect(get.headers.get('replay-nonce')).not.toBe(head.headers.get('replay-nonce'));
    const none = await fetch(`${fx.base}/acme/no-such-ca/directory`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { type: string }).type).toBe(P + 'malformed');
  });

  it('refuses a JWS whose signature does not verify (400 malformed) and creates no account', async () => {
    const body = await c.jws(c.directory.newAccount!, { termsOfServiceAgreed: true }, { useJwk: true });
    const sig = Buffer.from(body.signature!, 'base64url');
    sig[5] = sig[5]! ^ 0xff;
    const r = await c.postRaw(c.directory.newAccount!, { ...body, signature: sig.toString('base64url') });
    expectProblem(r, 400, 'malformed');
    expect(r.json.detail).toMatch(/signature/);
    // a JWS signed by another key than the jwk it carries
    const other = await generateKeyPair('ES256');
    const forged = await c.jws(c.directory.newAccount!, {}, { useJwk: true, key: other });
    expectProblem(await c.postRaw(c.directory.newAccount!, forged), 400, 'malformed');
    expect(await internalsOf(fx.authority).store.acme.listAccounts()).toEqual([]);
  });

  it('refuses unsupported algorithms (badSignatureAlgorithm, with the list), a wrong url (unauthorized)', async () => {
    const header = base64url.encode(
      JSON.stringify({ alg: 'none', nonce: await c.nonce(), url: c.directory.newAccount, jwk: c.jwk }),
    );
    const r = await c.postRaw(c.directory.newAccount!, {
      protected: header,
      payload: base64url.encode('{}'),
      signature: '',
    });
    expectProblem(r, 400, 'badSignatureAlgorithm');
    expect(r.json.algorithms).toContain('ES256');
    const body = await c.jws(`${fx.base}/acme/${fx.caId}/new-order`, {}, { useJwk: true });
    expectProblem(await c.postRaw(c.directory.newAccount!, body), 403, 'unauthorized');
    const plain = await fetch(c.directory.newAccount!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(plain.status).toBe(415);
  });

  it('creates an account (201 + Location), finds it again (200); accountDoesNotExist for an unknown key', async () => {
    const other = await acmeTestClient(fx.directoryUrl);
    const missing = await other.post(other.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expectProblem(missing, 400, 'accountDoesNotExist');
    const r = await register(c, { termsOfServiceAgreed: true, contact: ['mailto:ops@example.test'] });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('location')).toMatch(new RegExp(`/acme/${fx.caId}/acct/acct_`));
    expect(r.json).toMatchObject({ status: 'valid', contact: ['mailto:ops@example.test'] });
    const again = await c.post(c.directory.newAccount!, { onlyReturnExisting: true }, { useJwk: true });
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBe(c.kid);
    const badContact = await other.post(other.directory.newAccount!, { contact: ['tel:+1234'] }, { useJwk: true });
    expectProblem(badContact, 400, 'invalidContact');
  });

  it('refuses a replayed nonce with badNonce and a fresh nonce to retry with', async () => {
    const nonce = await c.nonce();
    const first = await c.post(c.kid!, undefined, { nonce });
    expect(first.status, first.text).toBe(200);
    const replay = await c.post(c.kid!, undefined, { nonce });
    expectProblem(replay, 400, 'badNonce');
    const retry = await c.post(c.kid!, undefined, { nonce: replay.headers.get('replay-nonce')! });
    expect(retry.status).toBe(200);
    expectProblem(await c.post(c.kid!, undefined, { nonce: 'made-up-nonce-value' }), 400, 'badNonce');
  });

  it('refuses identifiers outside the directory policy with rejectedIdentifier', async () => {
    const r = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'www.example.com' }] });
    expectProblem(r, 400, 'rejectedIdentifier');
    expect(r.json.detail).toMatch(/www\.example\.com/);
    const ip = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'ip', value: '127.0.0.1' }] });
    expectProblem(ip, 400, 'rejectedIdentifier');
    const weird = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'email', value: 'a@b.test' }] });
    expectProblem(weird, 400, 'unsupportedIdentifier');
    const orders = await c.post(`${c.kid}/orders`, undefined);
    expect(orders.json.orders).toEqual([]);
  });

  it('marks a failed http-01 challenge, its authorization and the order invalid (incorrectResponse)', async () => {
    const bad = await challengeServer(fx.http01Port, () => 'not the key authorization');
    try {
      const order = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
      expect(order.status).toBe(201);
      const az = order.json.authorizations[0] as string;
      const authz = (await c.post(az, undefined)).json;
      expect(authz.challenges.map((x: { type: string }) => x.type).sort()).toEqual([
        'dns-01',
        'http-01',
        'tls-alpn-01',
      ]);
      const ch = authz.challenges.find((x: { type: string }) => x.type === 'http-01');
      await c.post(ch.url, {});
      const done = await poll(c, az, (j) => j.status !== 'pending');
      expect(done.status).toBe('invalid');
      const failed = done.challenges.find((x: { type: string }) => x.type === 'http-01');
      expect(failed.status).toBe('invalid');
      expect(failed.error).toMatchObject({ type: P + 'incorrectResponse', status: 403 });
      const o = (await c.post(order.headers.get('location')!, undefined)).json;
      expect(o.status).toBe('invalid');
      expect(o.error.type).toBe(P + 'incorrectResponse');
      // finalize of an order that is not ready
      const fin = await c.post(o.finalize, { csr: 'AA' });
      expectProblem(fin, 403, 'orderNotReady');
      const audit = await fx.authority.audit.list({ action: 'acme.challenge_failed' });
      expect(audit[0]?.outcome).toBe('failure');
    } finally {
      await new Promise((r) => bad.close(r));
    }
    // nobody listening: a connection problem
    const order = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
    const az = order.json.authorizations[0] as string;
    const ch = (await c.post(az, undefined)).json.challenges.find((x: { type: string }) => x.type === 'http-01');
    await c.post(ch.url, {});
    const done = await poll(c, az, (j) => j.status !== 'pending');
    expect(done.challenges.find((x: { type: string }) => x.type === 'http-01').error.type).toBe(P + 'connection');
  });

  it('refuses a CSR that does not match the order with badCSR (the order stays ready), then issues', async () => {
    const tp = await thumbprint(c.jwk);
    good = await challengeServer(fx.http01Port, (t) => `${t}.${tp}`);
    const order = await c.post(c.directory.newOrder!, {
      identifiers: [
        { type: 'dns', value: 'app.test' },
        { type: 'dns', value: 'localhost' },
      ],
    });
    expect(order.status, order.text).toBe(201);
    for (const az of order.json.authorizations as string[]) {
      const ch = (await c.post(az, undefined)).json.challenges.find((x: { type: string }) => x.type === 'http-01');
      // app.test does not resolve here: only localhost is validated over http-01
      if ((await c.post(az, undefined)).json.identifier.value !== 'localhost') continue;
      await c.post(ch.url, {});
      await poll(c, az, (j) => j.status === 'valid');
    }
    good.close();
    good = undefined;
    // the order is still pending (app.test is not validated): finalize is refused
    expectProblem(await c.post(order.json.finalize, { csr: 'AA' }), 403, 'orderNotReady');

    const ok = await issue(c, ['localhost']);
    const wrongOrder = await c.post(c.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] });
    // reuse issue() pieces: validate, then finalize with a CSR for another name
    const tp2 = await thumbprint(c.jwk);
    const srv = await challengeServer(fx.http01Port, (t) => `${t}.${tp2}`);
    try {
      const az = wrongOrder.json.authorizations[0] as string;
      const ch = (await c.post(az, undefined)).json.challenges.find((x: { type: string }) => x.type === 'http-01');
      await c.post(ch.url, {});
      await poll(c, wrongOrder.headers.get('location')!, (j) => j.status === 'ready');
    } finally {
      await new Promise((r) => srv.close(r));
    }
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=evil.test',
      sans: ['DNS:evil.test', 'DNS:localhost'],
    });
    const r = await c.post(wrongOrder.json.finalize, { csr: csrB64(csrPem) });
    expectProblem(r, 400, 'badCSR');
    expect(r.json.detail).toMatch(/evil\.test/);
    expect((await c.post(wrongOrder.headers.get('location')!, undefined)).json.status).toBe('ready');
    // the certificate of the good order verifies (openssl) and carries exactly the order's name
    const v = opensslVerify({
      leafPem: ok.leafPem,
      chainPems: ok.chain,
      rootPem: fx.rootPem,
      purpose: 'sslserver',
      hostname: 'localhost',
    });
    expect(v.ok, v.output).toBe(true);
    expect(parseCertificate(ok.leafPem).sans).toEqual({ dns: ['localhost'] });
  }, 60_000);

  // revocation by the certificate key too
  it('renewalInfo (RFC 9773): a window in the last third of the lifetime, "now" once revoked', async () => {
    const got = await issue(c, ['localhost']);
    const info = parseCertificate(got.leafPem);
    const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
    const certId = `${b64url(info.authorityKeyIdentifierHex!)}.${b64url(info.serialHex)}`;
    const ri = await fetch(`${c.directory.renewalInfo}/${certId}`);
    expect(ri.status).toBe(200);
    expect(ri.headers.get('retry-after')).toBe('21600');
    const w = ((await ri.json()) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
    const life = info.notAfter - info.notBefore;
    expect(Date.parse(w.start)).toBeGreaterThan(info.notBefore + life / 2);
    expect(Date.parse(w.end)).toBeLessThan(info.notAfter);
    // revoke with the certificate's own key (jwk), reason keyCompromise
    const certKey = await importPKCS8(got.keyPem, 'ES256');
    const pub = await exportJWK((await import('node:crypto')).createPublicKey(got.keyPem));
    const certDer = Buffer.from(fromPem(got.leafPem, 'CERTIFICATE')).toString('base64url');
    const stranger = await acmeTestClient(fx.directoryUrl);
    const refused = await stranger.post(stranger.directory.revokeCert!, { certificate: certDer }, { useJwk: true });
    expectProblem(refused, 403, 'unauthorized');
    // 7 is no reason; certificateHold (6: holds are not supported, a revocation is final) and removeFromCRL (8: an
    // un-revocation, for delta CRLs) are refused as on every channel (docs/security.md)
    for (const reason of [6, 7, 8]) {
      const badReason = await stranger.post(
        stranger.directory.revokeCert!,
        { certificate: certDer, reason },
        {
          useJwk: true,
          key: { privateKey: certKey } as never,
          jwk: pub,
        },
      );
      expectProblem(badReason, 400, 'badRevocationReason');
    }
    const r = await stranger.post(
      stranger.directory.revokeCert!,
      { certificate: certDer, reason: 1 },
      {
        useJwk: true,
        key: { privateKey: certKey } as never,
        jwk: pub,
      },
    );
    expect(r.status, r.text).toBe(200);
    const again = await c.post(c.directory.revokeCert!, { certificate: certDer });
    expectProblem(again, 400, 'alreadyRevoked');
    const row = (await fx.authority.certificates.get(info.serialHex)).certificate;
    expect(row).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const w2 = (
      (await (await fetch(`${c.directory.renewalInfo}/${certId}`)).json()) as { suggestedWindow: { end: string } }
    ).suggestedWindow;
    expect(Date.parse(w2.end)).toBeLessThanOrEqual(Date.now() + 1000);
    expect((await fetch(`${c.directory.renewalInfo}/bad`)).status).toBe(400);
  }, 60_000);

  it('rolls the account key over (keyChange): the new key works, the old one no longer', async () => {
    const client = await acmeTestClient(fx.directoryUrl);
    await register(client);
    const next = await generateKeyPair('ES256', { extractable: true });
    const nextJwk = await exportJWK(next.publicKey);
    const url = client.directory.keyChange!;
    const inner = await new FlattenedSign(
      new TextEncoder().encode(JSON.stringify({ account: client.kid, oldKey: client.jwk })),
    )
      .setProtectedHeader({ alg: 'ES256', jwk: nextJwk, url })
      .sign(next.privateKey);
    const r = await client.post(url, inner);
    expect(r.status, r.text).toBe(200);
    expectProblem(await client.post(client.kid!, undefined), 400, 'malformed');
    const withNew = await client.post(client.kid!, undefined, { key: next });
    expect(withNew.status, withNew.text).toBe(200);
    // a key that is taken: 409 with the Location of the account holding it
    const inner2 = await new FlattenedSign(
      new TextEncoder().encode(JSON.stringify({ account: client.kid, oldKey: nextJwk })),
    )
      .setProtectedHeader({ alg: 'ES256', jwk: c.jwk, url })
      .sign(c.key.privateKey);
    const taken = await client.post(url, inner2, { key: next });
    expectProblem(taken, 409, 'conflict');
    expect(taken.headers.get('location')).toBe(c.kid);
    const audit = await fx.authority.audit.list({ action: 'acme.account_key_changed' });
    expect(audit).toHaveLength(1);
  });

  it('deactivates an account: afterwards every request of it is unauthorized', async () => {
    const client = await acmeTestClient(fx.directoryUrl, 'RS256');
    expect((await register(client)).status).toBe(201);
    const r = await client.post(client.kid!, { status: 'deactivated' });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('deactivated');
    expectProblem(
      await client.post(client.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'localhost' }] }),
      403,
      'unauthorized',
    );
  });

  it('limits new orders per account and hour (rateLimited, 429, Retry-After)', async () => {
    await fx.authority.acme.enable({ ca: fx.caId, allowDns: ['localhost', '*.test'], ordersPerHour: 1 }, TEST_ADMIN);
    try {
      const client = await acmeTestClient(fx.directoryUrl, 'EdDSA');
      await register(client);
      const ids = { identifiers: [{ type: 'dns', value: 'x.test' }] };
      expect((await client.post(client.directory.newOrder!, ids)).status).toBe(201);
      const r = await client.post(client.directory.newOrder!, ids);
      expectProblem(r, 429, 'rateLimited');
      expect(r.headers.get('retry-after')).toBe('3600');
    } finally {
      await fx.authority.acme.enable({ ca: fx.caId, allowDns: ['localhost', '*.test'], ordersPerHour: 50 }, TEST_ADMIN);
    }
  });

  it('requires an external account binding when configured; an EAB key binds one account', async () => {
    await fx.authority.acme.enable({ ca: fx.caId, allowDns: ['localhost', '*.test'], requireEab: true }, TEST_ADMIN);
    try {
      const dir = (await (await fetch(fx.directoryUrl)).json()) as { meta: { externalAccountRequired: boolean } };
      expect(dir.meta.externalAccountRequired).toBe(true);
      const client = await acmeTestClient(fx.directoryUrl);
      expectProblem(await register(client), 400, 'externalAccountRequired');
      const { kid, hmacKey } = await fx.authority.acme.createEabKey(fx.caId, TEST_ADMIN);
      const eab = (cl: AcmeTestClient, key = hmacKey) => eabFor(cl, kid, key);
      const wrongMac = await register(client, {
        externalAccountBinding: await eab(client, Buffer.alloc(32).toString('base64url')),
      });
      expectProblem(wrongMac, 403, 'unauthorized');
      const ok = await register(client, { externalAccountBinding: await eab(client) });
      expect(ok.status, ok.text).toBe(201);
      expect(ok.json.externalAccountBinding).toEqual({ kid });
      const second = await acmeTestClient(fx.directoryUrl);
      expectProblem(await register(second, { externalAccountBinding: await eab(second) }), 403, 'unauthorized');
    } finally {
      await fx.authority.acme.enable({ ca: fx.caId, allowDns: ['localhost', '*.test'], ordersPerHour: 50 }, TEST_ADMIN);
    }
  });

  it('keeps ACME administration within the CAs an actor is limited to', async () => {
    const limited = { ...TEST_ADMIN, id: 'tok_limited', resources: { cas: [fx.rootId] } };
    await expect(fx.authority.acme.enable({ ca: fx.caId }, limited)).rejects.toMatchObject({
      code: 'provisioner.ca_not_allowed',
    });
    await expect(fx.authority.acme.createEabKey(fx.caId, limited)).rejects.toMatchObject({
      code: 'provisioner.ca_not_allowed',
    });
    expect(await fx.authority.acme.listDirectories(limited)).toEqual([]);
    expect(await fx.authority.acme.listAccounts(undefined, limited)).toEqual([]);
    expect((await fx.authority.acme.listAccounts(undefined, TEST_ADMIN)).length).toBeGreaterThan(3);
    const operator = { id: 'usr_op', role: 'operator' as const };
    await expect(fx.authority.acme.enable({ ca: fx.caId }, operator)).rejects.toMatchObject({ code: 'auth.forbidden' });
  });

  it('audits every ACME action with the account as actor and the provisioner on the issued certificate', async () => {
    const events = await fx.authority.audit.list({ limit: 1000 });
    const actions = new Set(events.map((e) => e.action));
    for (const a of [
      'acme.enabled',
      'acme.account_created',
      'acme.order_created',
      'acme.challenge_started',
      'acme.challenge_validated',
      'acme.challenge_failed',
      'acme.order_finalized',
      'certificate.issued',
      'certificate.revoked',
      'acme.account_deactivated',
      'acme.eab_key_created',
    ])
      expect(actions, a).toContain(a);
    const issued = events.find((e) => e.action === 'certificate.issued' && String(e.actor).startsWith('acme:'));
    expect(issued?.details.provisioner).toMatchObject({ kind: 'acme', id: issued?.actor });
    expect(await fx.authority.audit.verify()).toMatchObject({ ok: true });
  });
});
