// Certificate references and search over REST and tRPC (real HTTP): unique serial/fingerprint prefixes, the
// ambiguity error with its candidates, `search=` over SANs and serials, and CA names in /crl and /aia URLs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { internalsOf } from '@pkim/authority/internals';
import type { IssuedCertificate } from '@pkim/authority';
import { fromPem, parseCertificate } from '@pkim/core';
import {
  ACTORS,
  type AuthorityFixture,
  callerFor,
  createRootCa,
  listen,
  openAuthorityFixture,
  trpcError,
} from './server-test-support';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';

describe('certificate references and search over REST and tRPC', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let token: string;
  let rootPem: string;
  let web: IssuedCertificate;
  let mail: IssuedCertificate;

  const rest = async (path: string) => {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const { authority } = fx;
    // a CA name with dots: /crl/<name>.crl and /aia/<name>.crt take everything before the last dot as the name
    rootPem = (await createRootCa(authority, 'pki.example', { subject: 'CN=Ref HTTP Root' })).pem;
    web = await authority.issuance.issueWithKey(
      {
        caId: 'pki.example',
        profile: 'tls-server',
        subject: 'CN=api-prod.payments.example.com',
        sans: { dns: ['api-prod.payments.example.com'], ip: ['10.44.0.7'] },
        keyType: 'ec-p256',
      },
      ACTORS.admin,
    );
    mail = await authority.issuance.issueWithKey(
      {
        caId: 'pki.example',
        profile: 'tls-client',
        subject: 'CN=robot',
        sans: { email: ['robot@ops.example.org'], uri: ['spiffe://example.org/ns/ops/sa/robot'] },
        keyType: 'ec-p256',
      },
      ACTORS.admin,
    );
    for (const c of [web, mail]) {
      expect(opensslVerify({ leafPem: c.certificatePem, rootPem }).ok).toBe(true);
    }
    // two more rows sharing a 10-character serial prefix (copies of a real row, written through the store)
    await internalsOf(authority).store.commit({
      insertCertificates: ['1', '2'].map((d) => ({
        ...web.certificate,
        id: `crt_httptwin${d}`,
        serialHex: `0ddba11000${d}${'0'.repeat(29)}`,
        fingerprintSha256: `${d}${'e'.repeat(63)}`,
      })),
    });
    token = (await authority.auth.createToken({ name: 'ref-http', role: 'admin' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('REST: GET /api/v1/certificates/:ref takes a unique serial or fingerprint prefix, refuses ambiguity', async () => {
    const c = web.certificate;
    // serials start with the issuance time in ms (12 hex): the 16 characters `cert list` prints tell two apart
    for (const ref of [c.serialHex.slice(0, 16), c.fingerprintSha256.slice(0, 10).toUpperCase(), c.serialHex]) {
      const r = await rest(`/api/v1/certificates/${encodeURIComponent(ref)}`);
      expect(r.status, ref).toBe(200);
      expect(r.body.id).toBe(c.id);
      expect(r.body.serial).toBe(c.serialHex); // the full serial, whatever the reference
    }
    const amb = await rest('/api/v1/certificates/0ddba11000');
    expect(amb.status).toBe(400);
    expect(amb.body.code).toBe('certificate.ambiguous_reference');
    expect(amb.body.message).toMatch(/crt_httptwin1.*crt_httptwin2|crt_httptwin2.*crt_httptwin1/);
    const short = await rest(`/api/v1/certificates/${c.serialHex.slice(0, 6)}`);
    expect(short.status).toBe(404);
    expect(short.body.code).toBe('certificate.not_found');
  });

  it('tRPC: certificate.get takes the same references; the ambiguity error carries the candidates', async () => {
    const t = callerFor(fx.authority, ACTORS.auditor);
    const c = mail.certificate;
    const colons = c.serialHex.slice(0, 16).replace(/(..)(?!$)/g, '$1:');
    expect((await t.certificate.get({ ref: colons })).id).toBe(c.id);
    const e = await trpcError(t.certificate.get({ ref: '0DDBA11000' }));
    expect(e.code).toBe('BAD_REQUEST');
    const pki = e.cause as unknown as { code: string; details: { candidates: { id: string }[] } };
    expect(pki.code).toBe('certificate.ambiguous_reference');
    expect(pki.details.candidates.map((x) => x.id).sort()).toEqual(['crt_httptwin1', 'crt_httptwin2']);
  });

  it('search= finds certificates by DNS label, IP, email, URI and serial prefix on both transports', async () => {
    const t = callerFor(fx.authority, ACTORS.auditor);
    const cases: [string, string[]][] = [
      ['payments.example', [web.certificate.id]],
      ['prod', [web.certificate.id]],
      ['10.44.0', [web.certificate.id]],
      ['ops.example.org', [mail.certificate.id]],
      ['spiffe://example.org/ns/ops', [mail.certificate.id]],
      [mail.certificate.serialHex.slice(0, 16), [mail.certificate.id]],
      ['nothing.example', []],
    ];
    for (const [q, ids] of cases) {
      const viaRest = await rest(`/api/v1/certificates?search=${encodeURIComponent(q)}`);
      expect(viaRest.status).toBe(200);
      const restIds = (viaRest.body.items as { id: string }[]).map((x) => x.id).filter((id) => !id.includes('twin'));
      expect(restIds, `REST ${q}`).toEqual(ids);
      const viaTrpc = (await t.certificate.list({ search: q })).items
        .map((x) => x.id)
        .filter((id) => !id.includes('twin'));
      expect(viaTrpc, `tRPC ${q}`).toEqual(ids);
    }
  });

  it('serves /crl/<name>.crl and /aia/<name>.crt for a CA name with dots, like its id', async () => {
    const caId = web.certificate.caId;
    const byName = await fetch(`${base}/crl/pki.example.crl`);
    expect(byName.status).toBe(200);
    expect(opensslCrlVerify(new Uint8Array(await byName.arrayBuffer()), rootPem).ok).toBe(true);
    const pemByName = await fetch(`${base}/crl/pki.example.pem`);
    expect(await pemByName.text()).toContain('-----BEGIN X509 CRL-----');
    const aiaByName = await fetch(`${base}/aia/pki.example.crt`);
    const aiaById = await fetch(`${base}/aia/${caId}.crt`);
    expect(aiaByName.status).toBe(200);
    const der = new Uint8Array(await aiaByName.arrayBuffer());
    expect(Buffer.from(der)).toEqual(Buffer.from(await aiaById.arrayBuffer()));
    expect(parseCertificate(der).fingerprintSha256).toBe(
      parseCertificate(fromPem(rootPem, 'CERTIFICATE')).fingerprintSha256,
    );
    expect((await fetch(`${base}/crl/pki.example.org.crl`)).status).toBe(404);
    expect((await fetch(`${base}/aia/pki.crt`)).status).toBe(404);
  });
});
