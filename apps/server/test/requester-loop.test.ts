// The requester's loop (issue #11 item 4) over REST and tRPC: submit → list own → show → approve/reject →
// download the issued certificate and chain; a requester reads the certificates of its own requests and only those.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import {
  ACTORS,
  type AuthorityFixture,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
} from './server-test-support';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe("the requester's loop over REST and tRPC", () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let rootPem: string;
  let intPem: string;
  const tokens: Record<'rita' | 'otto' | 'oscar', string> = { rita: '', otto: '', oscar: '' };

  const call = async (who: keyof typeof tokens, method: string, path: string, body?: unknown, accept?: string) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(accept ? { accept } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      /* PEM */
    }
    return { status: r.status, text, json };
  };
  const csr = (cn: string) => opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans: [`DNS:${cn}`] }).csrPem;

  beforeAll(async () => {
    fx = await openAuthorityFixture();
    const a = fx.authority;
    const root = await createRootCa(a, 'loop-root');
    rootPem = root.pem;
    intPem = (await createIssuingCa(a, root, 'loop-issuing')).pem;
    tokens.rita = (await a.auth.createToken({ name: 'rita', role: 'requester' }, ACTORS.admin)).token;
    tokens.otto = (await a.auth.createToken({ name: 'otto', role: 'requester' }, ACTORS.admin)).token;
    tokens.oscar = (await a.auth.createToken({ name: 'oscar', role: 'operator' }, ACTORS.admin)).token;
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
  });
  afterAll(async () => {
    await app?.close();
    await fx?.close();
  });

  it('REST: submit, list own, show, approve, download PEM + chain; another requester is refused', async () => {
    const submitted = await call('rita', 'POST', '/api/v1/requests', {
      ca: 'loop-issuing',
      csr: csr('rita.loop.example'),
      profile: 'tls-server',
      ttl: '30d',
    });
    expect(submitted.status, submitted.text).toBe(201);
    const id = submitted.json.id as string;
    expect(submitted.json).toMatchObject({ status: 'pending', ttl: '30d' });

    // not issued yet: a clear conflict, not an empty answer
    const early = await call('rita', 'GET', `/api/v1/requests/${id}/certificate`);
    expect(early.status).toBe(409);
    expect((early.json.error as { code: string }).code).toBe('request.not_issued');

    const mine = await call('rita', 'GET', '/api/v1/requests');
    expect((mine.json.items as { id: string }[]).map((r) => r.id)).toEqual([id]);
    expect((await call('otto', 'GET', '/api/v1/requests')).json.items).toEqual([]);
    expect((await call('otto', 'GET', `/api/v1/requests/${id}`)).status).toBe(404);
    expect((await call('rita', 'GET', `/api/v1/requests/${id}`)).json.id).toBe(id);

    // a requester cannot approve its own request
    expect((await call('rita', 'POST', `/api/v1/requests/${id}/approve`)).status).toBe(403);
    const approved = await call('oscar', 'POST', `/api/v1/requests/${id}/approve`);
    expect(approved.status, approved.text).toBe(200);
    const cert = approved.json.certificate as { id: string; serial: string };

    const pem = await call('rita', 'GET', `/api/v1/requests/${id}/certificate`);
    expect(pem.status).toBe(200);
    const blocks = pem.text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    expect(blocks).toHaveLength(3); // the certificate, the issuing CA, the root
    const v = opensslVerify({ leafPem: blocks[0]!, chainPems: [blocks[1]!], rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    expect(blocks[1]!.trim()).toBe(intPem.trim());
    const asJson = await call('rita', 'GET', `/api/v1/requests/${id}/certificate`, undefined, 'application/json');
    expect(asJson.json).toMatchObject({ id: cert.id, serial: cert.serial });

    // someone else's certificate: refused on every way in
    expect((await call('otto', 'GET', `/api/v1/requests/${id}/certificate`)).status).toBe(404);
    expect((await call('otto', 'GET', `/api/v1/certificates/${cert.id}`)).status).toBe(403);
    expect((await call('rita', 'GET', `/api/v1/certificates/${cert.id}`)).status).toBe(403); // only via the request

    // reject with a reason
    const other = await call('rita', 'POST', '/api/v1/requests', { ca: 'loop-issuing', csr: csr('r2.loop.example') });
    const rejected = await call('oscar', 'POST', `/api/v1/requests/${other.json.id as string}/reject`, {
      reason: 'not ours',
    });
    expect(rejected.json).toMatchObject({ status: 'rejected', reason: 'not ours' });
    const none = await call('rita', 'GET', `/api/v1/requests/${other.json.id as string}/certificate`);
    expect(none.status).toBe(409);
  });

  it('tRPC: request.certificate for the requester, refused for another requester', async () => {
    const trpc = async (who: keyof typeof tokens, proc: string, input: unknown, mutation = false) => {
      const path = mutation ? `/trpc/${proc}` : `/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`;
      return call(who, mutation ? 'POST' : 'GET', path, mutation ? input : undefined);
    };
    const sub = await trpc('rita', 'request.submit', { ca: 'loop-issuing', csr: csr('trpc.loop.example') }, true);
    const id = (sub.json.result as { data: { id: string } }).data.id;
    await trpc('oscar', 'request.approve', { id }, true);
    const got = await trpc('rita', 'request.certificate', { id });
    expect(got.status, got.text).toBe(200);
    const data = (got.json.result as { data: { certificatePem: string; chainPem: string; commonName: string } }).data;
    expect(data.commonName).toBe('trpc.loop.example');
    const v = opensslVerify({ leafPem: data.certificatePem, chainPems: [intPem], rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    const refused = await trpc('otto', 'request.certificate', { id });
    expect(refused.status).toBe(404);
    expect((refused.json.error as { data: { pkiCode: string } }).data.pkiCode).toBe('request.not_found');
    expect((await trpc('rita', 'certificate.list', {})).status).toBe(403);
  });
});
