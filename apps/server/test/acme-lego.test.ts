// The ACME server with a REAL client: Debian's lego. http-01 (`--http.port`) and tls-alpn-01 (`--tls.port`) on
// ephemeral 127.0.0.1 ports (the server validates on PKIM_ACME_HTTP01_PORT / PKIM_ACME_TLSALPN01_PORT), an IP
// identifier (RFC 8738), renewal and revocation (the served CRL and OCSP report it). Every certificate is
// verified by openssl, GnuTLS certtool and Go.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '@pkim/core';
import {
  expectRevokedOverHttp,
  openAcmeFixture,
  pemsOf,
  runAsync,
  type AcmeFixture,
} from '../../../tests/support/acme-kit';
import { certtoolVerify, goVerify, opensslVerify } from '../../../tests/support/verifiers';

describe('ACME with lego (Debian): http-01, tls-alpn-01, IP identifiers, renew, revoke', () => {
  let fx: AcmeFixture;

  beforeAll(async () => {
    fx = await openAcmeFixture({ allowIps: ['127.0.0.1'] });
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
  });

  const lego = async (path: string, args: string[], command: string[]) => {
    const r = await runAsync('lego', [
      '--server',
      fx.directoryUrl,
      '--path',
      join(fx.work, path),
      '--accept-tos',
      '--email',
      'ops@example.test',
      '--key-type',
      'ec256',
      ...args,
      ...command,
    ]);
    return r;
  };
  const http = () => ['--http', '--http.port', `127.0.0.1:${fx.http01Port}`];
  const tls = () => ['--tls', '--tls.port', `127.0.0.1:${fx.tlsAlpn01Port}`];

  /** lego's <domain>.crt holds leaf + issuer; all three verifiers must accept it for `name` */
  function checkIssued(path: string, name: string, file = name) {
    const crt = join(fx.work, path, 'certificates', `${file}.crt`);
    expect(existsSync(crt), crt).toBe(true);
    const [leafPem, ...chain] = pemsOf(readFileSync(crt, 'utf8'));
    expect(chain).toHaveLength(1);
    const info = parseCertificate(leafPem!);
    const ip = /^[0-9.]+$/.test(name);
    expect(info.sans).toEqual(ip ? { ip: [name] } : { dns: [name] });
    const o = opensslVerify({
      leafPem: leafPem!,
      chainPems: chain,
      rootPem: fx.rootPem,
      purpose: 'sslserver',
      ...(ip ? {} : { hostname: name }),
    });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem: leafPem!, chainPems: chain, rootPem: fx.rootPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem: leafPem!,
      intermediatesPems: chain,
      rootPem: fx.rootPem,
      dnsName: name,
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
    return { leafPem: leafPem!, serial: info.serialHex, crt };
  }

  let first = '';
  it('obtains a certificate over http-01 on a non-standard port', async () => {
    const r = await lego('http', http(), ['--domains', 'localhost', 'run']);
    expect(r.code, r.output).toBe(0);
    first = checkIssued('http', 'localhost').serial;
    const ok = await fx.authority.audit.list({ action: 'acme.challenge_validated', limit: 10 });
    expect(ok.some((e) => e.details.type === 'http-01')).toBe(true);
  }, 120_000);

  it('renews it (lego renew --days 100000): a new serial', async () => {
    const r = await lego('http', http(), ['--domains', 'localhost', 'renew', '--days', '100000', '--no-random-sleep']);
    expect(r.code, r.output).toBe(0);
    const { serial } = checkIssued('http', 'localhost');
    expect(serial).not.toBe(first);
  }, 120_000);

  it('revokes it (lego revoke --reason 4): the served CRL and OCSP report it revoked (superseded)', async () => {
    const { leafPem, serial } = checkIssued('http', 'localhost');
    const r = await lego('http', [], ['--domains', 'localhost', 'revoke', '--reason', '4', '--keep']);
    expect(r.code, r.output).toBe(0);
    const row = (await fx.authority.certificates.get(serial)).certificate;
    expect(row).toMatchObject({ status: 'revoked', revocationReason: 'superseded' });
    await expectRevokedOverHttp(fx, leafPem, serial, { crl: /Superseded/, ocsp: /Reason: superseded/ });
  }, 120_000);

  it('obtains a certificate over tls-alpn-01 on a non-standard port (RFC 8737)', async () => {
    const r = await lego('tls', tls(), ['--domains', 'localhost', 'run']);
    expect(r.code, r.output).toBe(0);
    checkIssued('tls', 'localhost');
    const ok = await fx.authority.audit.list({ action: 'acme.challenge_validated', limit: 20 });
    expect(ok.some((e) => e.details.type === 'tls-alpn-01')).toBe(true);
  }, 120_000);

  it('obtains a certificate for an IP identifier (RFC 8738) over http-01', async () => {
    const r = await lego('ip', http(), ['--domains', '127.0.0.1', 'run']);
    expect(r.code, r.output).toBe(0);
    checkIssued('ip', '127.0.0.1');
  }, 120_000);

  it('refuses a name outside the directory policy (rejectedIdentifier reaches the client)', async () => {
    const r = await lego('denied', http(), ['--domains', 'www.example.com', 'run']);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/rejectedIdentifier/);
  }, 120_000);
});
