// dns-01 (RFC 8555 §8.4) with a configured resolver (PKIM_ACME_DNS_RESOLVERS → a test DNS responder on
// 127.0.0.1): a name that resolves nowhere else and a wildcard are validated by their TXT record, a wrong or
// missing record fails the order with incorrectResponse / dns; issued certificates verified by openssl.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calculateJwkThumbprint } from 'jose';
import { fromPem, parseCertificate, splitPemBundle, toPem } from '@pkim/core';
import {
  ACME_ERROR as P,
  acmeTestClient,
  openAcmeFixture,
  pollAcme,
  register,
  type AcmeFixture,
  type AcmeTestClient,
} from '../../../tests/support/acme-kit';
import { startDnsTestServer, type DnsTestServer } from '../../../tests/support/dns-test-server';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe('ACME dns-01 with a configured resolver', () => {
  let dns: DnsTestServer;
  let fx: AcmeFixture;
  let c: AcmeTestClient;
  let tp: string;

  beforeAll(async () => {
    dns = await startDnsTestServer();
    fx = await openAcmeFixture({}, { PKIM_ACME_DNS_RESOLVERS: `127.0.0.1:${dns.port}` });
    c = await acmeTestClient(fx.directoryUrl);
    await register(c);
    tp = await calculateJwkThumbprint(c.jwk, 'sha256');
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
    await dns?.close();
  });

  const txtFor = (token: string) => createHash('sha256').update(`${token}.${tp}`).digest('base64url');

  const poll = (url: string, until: (j: { status: string }) => boolean) => pollAcme(c, url, until);

  /** orders `names`, answers each dns-01 with `record(token)` (undefined = no record); returns order + authz */
  async function order(names: string[], record: (token: string) => string | undefined) {
    const o = await c.post(c.directory.newOrder!, { identifiers: names.map((value) => ({ type: 'dns', value })) });
    expect(o.status, o.text).toBe(201);
    const authz = [];
    for (const az of o.json.authorizations as string[]) {
      const a = (await c.post(az, undefined)).json;
      const ch = a.challenges.find((x: { type: string }) => x.type === 'dns-01');
      if (a.wildcard) expect(a.challenges.map((x: { type: string }) => x.type)).toEqual(['dns-01']);
      const value = record(ch.token);
      if (value !== undefined) dns.txt.set(`_acme-challenge.${a.identifier.value}`, [value]);
      else dns.txt.delete(`_acme-challenge.${a.identifier.value}`);
      await c.post(ch.url, {});
      authz.push(await poll(az, (j) => j.status !== 'pending'));
    }
    return { url: o.headers.get('location')!, order: o.json, authz };
  }

  it('validates dns-01 for a name and its wildcard and issues a certificate for both', async () => {
    const { url, order: o, authz } = await order(['app.test', '*.app.test'], (t) => txtFor(t));
    expect(authz.map((a) => a.status)).toEqual(['valid', 'valid']);
    await poll(url, (j) => j.status === 'ready');
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=app.test',
      sans: ['DNS:app.test', 'DNS:*.app.test'],
    });
    const fin = await c.post(o.finalize, {
      csr: Buffer.from(fromPem(csrPem, 'CERTIFICATE REQUEST')).toString('base64url'),
    });
    expect(fin.status, fin.text).toBe(200);
    const chain = splitPemBundle((await c.post(fin.json.certificate, undefined)).text).map((d) =>
      toPem(d, 'CERTIFICATE'),
    );
    const leaf = chain.shift()!;
    expect(parseCertificate(leaf).sans.dns?.sort()).toEqual(['*.app.test', 'app.test']);
    for (const hostname of ['app.test', 'www.app.test']) {
      const v = opensslVerify({ leafPem: leaf, chainPems: chain, rootPem: fx.rootPem, purpose: 'sslserver', hostname });
      expect(v.ok, v.output).toBe(true);
    }
  }, 60_000);

  it('fails the order when the TXT record is wrong (incorrectResponse) or missing (dns)', async () => {
    const wrong = await order(['wrong.test'], () => 'not-the-digest');
    expect(wrong.authz[0]!.status).toBe('invalid');
    const ch = wrong.authz[0]!.challenges.find((x: { type: string }) => x.type === 'dns-01');
    expect(ch.error.type).toBe(P + 'incorrectResponse');
    expect((await c.post(wrong.url, undefined)).json.status).toBe('invalid');
    const missing = await order(['missing.test'], () => undefined);
    const ch2 = missing.authz[0]!.challenges.find((x: { type: string }) => x.type === 'dns-01');
    expect(ch2.error.type).toBe(P + 'dns');
  }, 60_000);
});
