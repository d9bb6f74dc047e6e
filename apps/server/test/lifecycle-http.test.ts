import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import type { Authority } from '@pkim/authority';
import { ACTORS, callerFor, openAuthorityFixture, type AuthorityFixture } from './server-test-support';
import { openssl } from '../../../tests/support/openssl-tools';

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
    await authority.cas.create(
      { name: 'lc-root', subject: { commonName: 'LC Root' }, keyType: 'ec-p256' },
      ACTORS.admin,
    );
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
});
