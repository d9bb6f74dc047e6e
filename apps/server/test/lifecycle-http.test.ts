import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import type { Authority } from '@pkim/authority';
import { ACTORS, type AuthorityFixture, callerFor, createRootCa, openAuthorityFixture } from './server-test-support';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openssl } from '../../../tests/support/openssl-tools';
import { opensslOcspCheck } from '../../../tests/support/verifiers';

describe('everyday certificate work over REST and tRPC (exports)', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let token: string;
  let tokenId: string;
  let serial: string;
  let certId: string;

  const auth = () => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    await createRootCa(authority, 'lc-root');
    const issued = await authority.issuance.issueWithKey(
      {
        caId: 'lc-root',
        profile: 'tls-server',
        subject: 'CN=svc.example.com',
        sans: { dns: ['svc.example.com'] },
        keyType: 'ec-p256',
        keepKey: true,
      },
      ACTORS.admin,
    );
    serial = issued.certificate.serialHex;
    certId = issued.certificate.id;
    const created = await authority.auth.createToken({ name: 'lc-operator', role: 'operator' }, ACTORS.admin);
    token = created.token;
    tokenId = created.id;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('REST streams the file with its media type and file name; a PKCS#12 carries the key warning', async () => {
    const der = await app.inject({
      method: 'POST',
      url: `/api/v1/certificates/${serial}/export`,
      headers: auth(),
      payload: { format: 'der' },
    });
    expect(der.statusCode, der.body).toBe(200);
    expect(der.headers['content-type']).toBe('application/pkix-cert');
    expect(der.headers['content-disposition']).toBe('attachment; filename="svc.example.com.cer"');
    const read = openssl(['x509', '-inform', 'der', '-in', '@c.cer', '-noout', '-serial'], { 'c.cer': der.rawPayload });
    expect(read.ok, read.output).toBe(true);
    expect(read.output.toLowerCase()).toContain(serial);

    const p12 = await app.inject({
      method: 'POST',
      url: `/api/v1/certificates/${serial}/export`,
      headers: auth(),
      payload: { format: 'p12', password: 'rest export password' },
    });
    expect(p12.statusCode, p12.body).toBe(200);
    expect(p12.headers['content-type']).toBe('application/x-pkcs12');
    expect(p12.headers['x-pkim-warning']).toContain('PRIVATE KEY');
    expect(p12.headers['cache-control']).toBe('no-store');
    const info = openssl(['pkcs12', '-info', '-in', '@c.p12', '-passin', 'pass:rest export password', '-noenc'], {
      'c.p12': p12.rawPayload,
    });
    expect(info.ok, info.output).toBe(true);
    expect(info.output).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('REST refuses a PKCS#12 without a password (400 export.password_required) and a short one (400)', async () => {
    const none = await app.inject({
      method: 'POST',
      url: `/api/v1/certificates/${serial}/export`,
      headers: auth(),
      payload: { format: 'p12' },
    });
    expect(none.statusCode).toBe(400);
    expect(none.json().code).toBe('export.password_required');
    const short = await app.inject({
      method: 'POST',
      url: `/api/v1/certificates/${serial}/export`,
      headers: auth(),
      payload: { format: 'jks', password: 'short' },
    });
    expect(short.statusCode).toBe(400);
    expect(short.json().code).toBe('input.invalid');
  });

  it('tRPC returns the file as base64; a truststore holds the CA chain only', async () => {
    const caller = callerFor(authority, ACTORS.auditor);
    const pem = await caller.exports.certificate({ ref: serial, format: 'chain' });
    expect(pem.mediaType).toBe('application/pem-certificate-chain');
    expect(
      Buffer.from(pem.contentBase64, 'base64')
        .toString('utf8')
        .match(/BEGIN CERTIFICATE/g)?.length,
    ).toBe(2);
    // an auditor may read certificates but not take their private keys
    await expect(
      caller.exports.certificate({ ref: serial, format: 'key', password: 'auditor wants it' }),
    ).rejects.toThrow(/certificate:issue/);
    const trust = await callerFor(authority, ACTORS.operator).exports.truststore({ ca: 'lc-root', format: 'pem' });
    expect(trust.fileName).toBe('lc-root.pem');
    expect(trust.containsPrivateKey).toBe(false);
  });

  it('audits each export with the actor (the API token) and each refusal', async () => {
    const events = await authority.audit.list({ limit: 100, order: 'desc' });
    const exported = events.filter((e) => e.action === 'certificate.exported' && e.target === certId);
    expect(
      exported.some((e) => e.actor === tokenId && e.details.format === 'p12' && e.details.containsPrivateKey),
    ).toBe(true);
    expect(exported.some((e) => e.actor === ACTORS.auditor.id && e.details.format === 'chain')).toBe(true);
    const failed = events.filter((e) => e.action === 'certificate.export_failed');
    expect(failed.some((e) => e.actor === ACTORS.auditor.id && e.details.code === 'auth.forbidden')).toBe(true);
    expect(failed.some((e) => e.actor === tokenId && e.details.code === 'export.password_required')).toBe(true);
  });

  it('renews with a new key, links old and new both ways, revokes the old as superseded (CRL, OCSP)', async () => {
    const r = await app.inject({
      method: 'POST',
      url: `/api/v1/certificates/${serial}/renew`,
      headers: auth(),
      payload: { ttl: '30d', revokeOld: true },
    });
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json();
    expect(body.certificate.renewedFrom).toBe(certId);
    expect(body.previous.status).toBe('revoked');
    expect(body.previous.revocationReason).toBe('superseded');
    expect(body.certificate.serial).not.toBe(serial);
    expect(body.certificate.subject).toBe('CN=svc.example.com');
    expect(body.certificate.sans.dns).toEqual(['svc.example.com']);
    // a new key: the public keys differ
    const pub = (pem: string) => openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': pem }).output;
    const old = await authority.certificates.get(certId);
    expect(pub(body.certificatePem)).not.toBe(pub(old.certificatePem));
    // linked both ways, shown by certificate.get
    expect(old.renewedBy).toEqual([body.certificate.id]);
    const shown = await callerFor(authority, ACTORS.auditor).certificate.get({ ref: certId });
    expect(shown.renewedBy).toEqual([body.certificate.id]);
    // the CRL lists the old serial as superseded
    const ca = (await authority.cas.get('lc-root')).ca;
    const crl = await authority.crl.current(ca.id);
    const crlText = openssl(['crl', '-inform', 'der', '-in', '@c.crl', '-noout', '-text'], { 'c.crl': crl.der });
    expect(crlText.ok, crlText.output).toBe(true);
    expect(crlText.output.toLowerCase()).toContain(serial.toUpperCase().replace(/^0+/, '').toLowerCase());
    expect(crlText.output).toContain('Superseded');
    // OCSP: revoked (superseded) for the old serial, good for the new
    for (const [pem, status] of [
      [old.certificatePem, 'revoked'],
      [body.certificatePem, 'good'],
    ] as const) {
      const reqDer = ocspRequest(ca.certificatePem!, pem);
      const res = await app.inject({
        method: 'POST',
        url: '/ocsp',
        headers: { 'content-type': 'application/ocsp-request' },
        payload: reqDer,
      });
      expect(res.statusCode).toBe(200);
      const check = opensslOcspCheck({
        responseDer: res.rawPayload,
        issuerPem: ca.certificatePem!,
        caFilePem: ca.certificatePem!,
        leafPem: pem,
      });
      expect(check.output).toContain(status);
      if (status === 'revoked') expect(check.output).toMatch(/superseded/i);
    }
  });
});

/** a DER OCSP request for a certificate, made by openssl */
function ocspRequest(issuerPem: string, leafPem: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'pkim-ocspreq-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), issuerPem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const r = spawnSync(
      'openssl',
      ['ocsp', '-issuer', 'ca.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'req.der'],
      {
        cwd: dir,
      },
    );
    if (r.status !== 0) throw new Error(`openssl ocsp -reqout failed: ${String(r.stderr)}`);
    return readFileSync(join(dir, 'req.der'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
