// GET /api/v1/certificates/export (issue #16 item 4): the inventory report as a streamed download over a real
// socket — media type, file name, the filters of the certificate list (CSV parsed back with csv-parse and compared
// with GET /api/v1/certificates of the same filters), JSON records that match the contract schema, a requester
// sees only the certificates of its own requests, bad input and no credentials refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { INVENTORY_COLUMNS, type Authority } from '@pkim/authority';
import { inventoryRecordSchema } from '@pkim/contract';
import { buildServer } from '@pkim/server';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { ACTORS, type AuthorityFixture, createRootCa, listen, openAuthorityFixture } from './server-test-support';

const DAY = 86_400_000;

describe('GET /api/v1/certificates/export (inventory report)', () => {
  let fx: AuthorityFixture;
  let authority: Authority;
  let app: FastifyInstance;
  let base: string;
  let adminToken: string;
  let requesterToken: string;
  let requesterCertId: string;

  const get = (path: string, token?: string) =>
    fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    authority = fx.authority;
    const root = await createRootCa(authority, 'inv-root');
    for (const [i, cn] of ['one.example.com', 'two.example.com', 'three.example.net'].entries()) {
      const r = await authority.issuance.issueWithKey(
        {
          caId: 'inv-root',
          profile: i === 2 ? 'tls-client' : 'tls-server',
          subject: { commonName: cn, organization: 'Comma, Quote " Ltd' },
          sans: { dns: [cn] },
          keyType: 'ec-p256',
          validityMs: (5 + 20 * i) * DAY,
        },
        ACTORS.admin,
      );
      expect(opensslVerify({ leafPem: r.certificatePem, rootPem: root.pem }).ok).toBe(true);
      if (i === 1) await authority.certificates.revoke(r.certificate.id, 'superseded', ACTORS.admin);
    }
    adminToken = (await authority.auth.createToken({ name: 'inv-admin', role: 'admin' }, ACTORS.admin)).token;
    requesterToken = (await authority.auth.createToken({ name: 'inv-req', role: 'requester' }, ACTORS.admin)).token;
    app = await buildServer(authority, { logger: false, backgroundJobs: false });
    base = await listen(app);
    // the requester submits over REST; an admin approves
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=mine.example.com',
      sans: ['DNS:mine.example.com'],
    });
    const submitted = await fetch(`${base}/api/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${requesterToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ca: 'inv-root', csr: csrPem, profile: 'tls-server', ttl: '30d' }),
    });
    expect(submitted.status).toBe(201);
    const approved = await authority.requests.approve(((await submitted.json()) as { id: string }).id, ACTORS.admin);
    requesterCertId = approved.issued.certificate.id;
    expect(opensslVerify({ leafPem: approved.issued.certificatePem, rootPem: root.pem }).ok).toBe(true);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('streams a CSV download with the filters of the certificate list', async () => {
    const csv = async (query: string) => {
      const res = await get(`/api/v1/certificates/export?${query}`, adminToken);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      expect(res.headers.get('content-disposition')).toMatch(
        /^attachment; filename="certificates-\d{4}-\d\d-\d\d\.csv"$/,
      );
      expect(res.headers.get('cache-control')).toBe('no-store');
      const rows = parse<Record<string, string>>(await res.text(), { columns: true });
      const list = (await (await get(`/api/v1/certificates?${query}&limit=1000`, adminToken)).json()) as {
        items: { id: string; serial: string; notAfter: string; subject: string; commonName: string }[];
      };
      expect(rows.map((r) => [r.id, r.serial, r.not_after, r.subject])).toEqual(
        list.items.map((c) => [c.id, c.serial, c.notAfter, c.subject]),
      );
      return rows.map((r) => r.common_name);
    };
    // two.example.com is revoked, three.example.net is tls-client; mine.example.com came from a request (30 days)
    const active = await csv('status=active&profile=tls-server&sort=expiry_asc');
    expect(active).toEqual(['one.example.com', 'mine.example.com']);
    expect(await csv('expiringWithinDays=10')).toEqual(['one.example.com']);
    expect(await csv('search=example.net')).toEqual(['three.example.net']);
    expect(await csv('status=revoked&ca=inv-root')).toEqual(['two.example.com']);
    const [one] = parse<Record<string, string>>(
      await (await get('/api/v1/certificates/export?search=one', adminToken)).text(),
      {
        columns: true,
      },
    );
    expect(one!.subject).toBe('CN=one.example.com,O=Comma\\, Quote \\" Ltd');
  });

  it('JSON: an array of records of the contract schema, the columns in order', async () => {
    const res = await get('/api/v1/certificates/export?format=json&profile=tls-client', adminToken);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/filename="certificates-[\d-]+\.json"$/);
    const records = z.array(inventoryRecordSchema.strict()).parse(await res.json());
    expect(records.map((r) => [r.common_name, r.profile, r.ca_name])).toEqual([
      ['three.example.net', 'tls-client', 'inv-root'],
    ]);
    expect(Object.keys(inventoryRecordSchema.shape)).toEqual([...INVENTORY_COLUMNS]);
  });

  it('a requester token gets only the certificate of its own request', async () => {
    const res = await get('/api/v1/certificates/export', requesterToken);
    expect(res.status).toBe(200);
    const rows = parse<Record<string, string>>(await res.text(), { columns: true });
    expect(rows.map((r) => r.id)).toEqual([requesterCertId]);
    expect(rows[0]!.requester).toMatch(/^tok_/);
  });

  it('refuses bad input (400) and no credentials (401) with the error shape', async () => {
    const bad = await get('/api/v1/certificates/export?format=xml', adminToken);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('input.invalid');
    const unknownCa = await get('/api/v1/certificates/export?ca=nope', adminToken);
    expect(unknownCa.status).toBe(404);
    const anonymous = await get('/api/v1/certificates/export');
    expect(anonymous.status).toBe(401);
  });
});
