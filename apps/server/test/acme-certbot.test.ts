// The ACME server with a REAL client: Debian's certbot (standalone http-01 on an ephemeral 127.0.0.1 port)
// obtains, renews and revokes a certificate for `localhost` from /acme/<caId>/directory; every certificate is
// verified by openssl, GnuTLS certtool and Go, and the served CRL and OCSP answers report the revocation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPem, parseCertificate, splitPemBundle } from '@pkim/core';
import { expectRevokedOverHttp, openAcmeFixture, runAsync, type AcmeFixture } from '../../../tests/support/acme-kit';
import { certtoolVerify, goVerify, opensslVerify } from '../../../tests/support/verifiers';

function pemsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

describe('ACME with certbot (Debian) over http-01', () => {
  let fx: AcmeFixture;
  let dirs: string[];

  const certbot = async (args: string[]) => {
    const r = await runAsync('certbot', [
      ...args,
      '--non-interactive',
      '--config-dir',
      join(fx.work, 'certbot', 'config'),
      '--work-dir',
      join(fx.work, 'certbot', 'work'),
      '--logs-dir',
      join(fx.work, 'certbot', 'logs'),
      '--server',
      fx.directoryUrl,
    ]);
    if (r.code !== 0) {
      const log = join(fx.work, 'certbot', 'logs', 'letsencrypt.log');
      r.output += `\n--- certbot log (tail) ---\n${readFileSync(log, 'utf8').split('\n').slice(-80).join('\n')}`;
    }
    return r;
  };

  beforeAll(async () => {
    fx = await openAcmeFixture();
    dirs = [];
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
  });

  const live = () => join(fx.work, 'certbot', 'config', 'live', 'localhost');

  function checkIssued(): { leafPem: string; chain: string[]; serial: string } {
    const leafPem = pemsOf(join(live(), 'cert.pem'))[0]!;
    const chain = pemsOf(join(live(), 'chain.pem'));
    expect(chain).toHaveLength(1); // the intermediate; the root is not part of the chain
    expect(pemsOf(join(live(), 'fullchain.pem'))).toEqual([leafPem, ...chain]);
    const info = parseCertificate(leafPem);
    expect(info.sans.dns).toEqual(['localhost']);
    expect(info.extKeyUsage).toContain('serverAuth');
    const o = opensslVerify({
      leafPem,
      chainPems: chain,
      rootPem: fx.rootPem,
      purpose: 'sslserver',
      hostname: 'localhost',
    });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({ leafPem, chainPems: chain, rootPem: fx.rootPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem,
      intermediatesPems: chain,
      rootPem: fx.rootPem,
      dnsName: 'localhost',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
    return { leafPem, chain, serial: info.serialHex };
  }

  it('obtains a certificate for localhost (certonly --standalone), verified by openssl, certtool and Go', async () => {
    const r = await certbot([
      'certonly',
      '--standalone',
      '--agree-tos',
      '--register-unsafely-without-email',
      '--http-01-address',
      '127.0.0.1',
      '--http-01-port',
      String(fx.http01Port),
      '--key-type',
      'ecdsa',
      '-d',
      'localhost',
    ]);
    expect(r.code, r.output).toBe(0);
    const { serial } = checkIssued();
    const row = (await fx.authority.certificates.list({ caId: fx.caId })).items.find((c) => c.serialHex === serial);
    expect(row?.profile).toBe('tls-server');
    const issued = await fx.authority.audit.list({ action: 'certificate.issued', order: 'desc', limit: 1 });
    expect(issued[0]?.details.provisioner).toMatchObject({ kind: 'acme' });
    expect(issued[0]?.actor).toMatch(/^acme:acct_/);
    const validated = await fx.authority.audit.list({ action: 'acme.challenge_validated' });
    expect(validated.length).toBeGreaterThan(0);
    dirs.push(serial);
  }, 180_000);

  it('renews it (certbot renew --force-renewal): a new certificate with a new serial', async () => {
    const r = await certbot([
      'renew',
      '--force-renewal',
      '--no-random-sleep-on-renew',
      '--http-01-port',
      String(fx.http01Port),
      '--http-01-address',
      '127.0.0.1',
    ]);
    expect(r.code, r.output).toBe(0);
    const { serial } = checkIssued();
    expect(serial).not.toBe(dirs[0]);
    dirs.push(serial);
  }, 180_000);

  it('revokes it (certbot revoke --reason keycompromise); the served CRL and OCSP report it revoked', async () => {
    const certPath = join(live(), 'cert.pem');
    const leafPem = pemsOf(certPath)[0]!;
    const r = await certbot([
      'revoke',
      '--cert-path',
      certPath,
      '--reason',
      'keycompromise',
      '--no-delete-after-revoke',
    ]);
    expect(r.code, r.output).toBe(0);
    const serial = dirs[1]!;
    const row = (await fx.authority.certificates.list({ caId: fx.caId })).items.find((c) => c.serialHex === serial);
    expect(row?.status).toBe('revoked');
    expect(row?.revocationReason).toBe('keyCompromise');
    // the served CRL lists it (openssl, certtool and Go) and `openssl ocsp -url` gets a verifying "revoked"
    await expectRevokedOverHttp(fx, leafPem, serial, { crl: /Key Compromise/, ocsp: /Reason: keyCompromise/ });
    // the first certificate (replaced at renewal) is still good
    expect(splitPemBundle(leafPem)[0]).toEqual(fromPem(leafPem, 'CERTIFICATE'));
  }, 180_000);
});
