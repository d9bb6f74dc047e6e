// Custom profiles over REST (POST/PUT/DELETE /api/v1/profiles[/:name]) and tRPC (profiles.*) on two server instances on
// one PostgreSQL database: a profile created on instance A issues a certificate on instance B at once, without a
// restart — openssl reads the leaf's key usage, EKU (with an OID) and lifetime from the profile; a change made on A
// reaches B's next certificate once B heard of it. Refusals carry their code and change nothing; the OpenAPI document
// lists the routes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { PROFILE_RECHECK_MS, type Authority } from '@pkim/authority';
import { internalsOf } from '@pkim/authority/internals';
import { buildServer } from '@pkim/server';
import { parseDuration } from '@pkim/shared';
import { postgresInstances } from '../../../tests/support/postgres-instances';
import { opensslCsr } from '../../../tests/support/openssl-tools';
import { expectLeafOfProfile } from '../../../tests/support/profile-leaf';
import { eventually } from '../../../tests/support/test-kit';
import { ACTORS, callerFor, createIssuingCa, createRootCa, listen, pkiCodeOf, trpcError } from './server-test-support';

const LAB = {
  name: 'lab-client',
  description: 'lab clients',
  isCa: false,
  keyUsage: ['digitalSignature', 'keyAgreement'],
  extKeyUsage: ['clientAuth'],
  extKeyUsageOids: ['1.3.6.1.4.1.32473.9.3'],
  allowedSanTypes: ['dns'],
  sanRequired: false,
  allowedKeyTypes: ['ec-p256'],
  defaultLifetime: '7d',
  maxLifetime: '30d',
};

interface Instance {
  authority: Authority;
  app: FastifyInstance;
  base: string;
}

describe('custom profiles over REST and tRPC on two instances of one PostgreSQL database', { timeout: 180_000 }, () => {
  const hosts = postgresInstances();
  const instances: Instance[] = [];
  /** B's clock runs `offset` ms ahead: moved by the test to end B's view of the profiles */
  let offset = 0;
  let admin = '';
  let operator = '';
  let rootPem = '';
  let issuingPem = '';

  beforeAll(async () => {
    const url = await hosts.database('profiles');
    for (const clock of [undefined, { now: () => Date.now() + offset }]) {
      const authority = await hosts.open(url, clock ? { clock } : {});
      const app = await buildServer(authority, { logger: false, processMetrics: false, backgroundJobs: false });
      instances.push({ authority, app, base: await listen(app) });
    }
    const a = instances[0]!.authority;
    const root = await createRootCa(a, 'pa-root');
    rootPem = root.pem;
    issuingPem = (await createIssuingCa(a, root, 'pa-issuing')).pem;
    admin = (await a.auth.createToken({ name: 'pa-admin', role: 'admin' }, ACTORS.admin)).token;
    operator = (await a.auth.createToken({ name: 'pa-operator', role: 'operator' }, ACTORS.admin)).token;
  }, 120_000);
  afterAll(async () => {
    for (const i of instances) await i.app.close();
  });

  const rest = async (i: Instance, method: string, path: string, body?: unknown, token = admin) => {
    const r = await fetch(`${i.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> & { code?: string } };
  };
  const issue = (i: Instance) => {
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=lab.example', sans: ['DNS:lab.example'] });
    return rest(i, 'POST', '/certificates', { ca: 'pa-issuing', csr: csr.csrPem, profile: 'lab-client' });
  };
  const stored = async () => {
    const { store } = internalsOf(instances[0]!.authority);
    return { profiles: await store.settings.listByPrefix('profile.'), events: await store.audit.count() };
  };

  it('a profile created over REST on A issues on B at once; its change reaches B; openssl reads leaves', async () => {
    const [a, b] = instances as [Instance, Instance];
    const created = await rest(a, 'POST', '/profiles', LAB);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({
      name: 'lab-client',
      source: 'api',
      defaultLifetime: '7d',
      maxLifetime: '30d',
    });

    const leaf = await issue(b);
    expect(leaf.status, JSON.stringify(leaf.body)).toBe(201);
    expectLeafOfProfile({
      leafPem: leaf.body.certificatePem as string,
      chainPems: [issuingPem],
      rootPem,
      purpose: 'sslclient',
      profile: { ...LAB, lifetimeMs: parseDuration('7d') + 60_000 },
    });
    const listed = await rest(b, 'GET', '/profiles');
    const items = listed.body.items as { name: string; source: string }[];
    expect(items.find((p) => p.name === 'lab-client')?.source).toBe('api');
    expect(items.find((p) => p.name === 'tls-server')?.source).toBe('built-in');
    expect((await rest(b, 'GET', '/profiles/lab-client')).body).toMatchObject({ name: 'lab-client', source: 'api' });

    // PUT on A: B applies it once it heard of the commit and PROFILE_RECHECK_MS passed on its clock
    const bStore = internalsOf(b.authority).store;
    const before = bStore.otherCommits;
    const changed = { ...LAB, name: undefined, keyUsage: ['digitalSignature'], defaultLifetime: '2d' };
    const put = await rest(a, 'PUT', '/profiles/lab-client', changed);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ keyUsage: ['digitalSignature'], defaultLifetime: '2d' });
    expect(
      await eventually(
        async () => bStore.otherCommits,
        (v) => v !== before,
      ),
    ).not.toBe(before);
    offset += PROFILE_RECHECK_MS;
    const after = await issue(b);
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    expectLeafOfProfile({
      leafPem: after.body.certificatePem as string,
      chainPems: [issuingPem],
      rootPem,
      purpose: 'sslclient',
      profile: { ...LAB, keyUsage: ['digitalSignature'], lifetimeMs: parseDuration('2d') + 60_000 },
    });
  });

  it('refusals carry their code and change nothing; operators may not write; tRPC is the same door', async () => {
    const [a] = instances as [Instance, Instance];
    const before = await stored();
    const refused = async (method: string, path: string, body: unknown, status: number, code: string, t = admin) => {
      const r = await rest(a, method, path, body, t);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.code).toBe(code);
      return r.body;
    };
    await refused('POST', '/profiles', { ...LAB, name: 'tls-server' }, 409, 'profile.exists');
    await refused('POST', '/profiles', LAB, 409, 'profile.exists');
    await refused('PUT', '/profiles/tls-server', LAB, 409, 'profile.read_only');
    await refused('DELETE', '/profiles/root-ca', undefined, 409, 'profile.read_only');
    await refused('DELETE', '/profiles/nope', undefined, 404, 'profile.not_found');
    const bad = await refused('POST', '/profiles', { ...LAB, name: 'bad', keyUsage: ['sign'] }, 400, 'profile.invalid');
    expect(bad.details).toMatchObject({ issues: [expect.objectContaining({ path: 'keyUsage.0' })] });
    await refused('POST', '/profiles', { ...LAB, name: 'bad', maxLifetime: 'soon' }, 400, 'profile.invalid');
    // a key usage an allowed key type cannot carry: the profile could never issue for it (the linter's
    // lint.key_usage_key_type_mismatch) — refused when written, on create and on update
    const ecEncipher = { ...LAB, name: 'bad', keyUsage: ['digitalSignature', 'keyEncipherment'] };
    const impossible = await refused('POST', '/profiles', ecEncipher, 400, 'profile.invalid');
    expect(impossible.details).toEqual({
      issues: [
        {
          path: 'keyUsage',
          message: 'keyEncipherment is not possible with ec-p256 keys (for RSA keys only: put it in rsaKeyUsage)',
        },
      ],
    });
    const mixed = { ...LAB, name: 'bad', allowedKeyTypes: ['rsa-2048', 'ec-p256'], keyUsage: ['digitalSignature'] };
    const rsaAgreement = await refused(
      'POST',
      '/profiles',
      { ...mixed, rsaKeyUsage: ['keyAgreement'] },
      400,
      'profile.invalid',
    );
    expect(rsaAgreement.message).toContain('rsaKeyUsage: keyAgreement is not possible with RSA keys');
    await refused(
      'PUT',
      '/profiles/lab-client',
      { ...LAB, name: undefined, allowedKeyTypes: ['rsa-2048'] },
      400,
      'profile.invalid',
    );
    await refused('POST', '/profiles', { ...LAB, name: 'other' }, 403, 'auth.forbidden', operator);
    expect(
      (await trpcError(callerFor(a.authority, ACTORS.operator).profiles.delete({ name: 'lab-client' }))).code,
    ).toBe('FORBIDDEN');

    // in use by a pending request: 409 naming it
    const csr = opensslCsr({ keyType: 'ec-p256', subject: '/CN=wait.example', sans: ['DNS:wait.example'] });
    const req = await rest(a, 'POST', '/requests', { ca: 'pa-issuing', csr: csr.csrPem, profile: 'lab-client' });
    expect(req.status, JSON.stringify(req.body)).toBe(201);
    const inUse = await refused('DELETE', '/profiles/lab-client', undefined, 409, 'profile.in_use');
    expect(inUse.message).toContain(`pending request ${String(req.body.id)}`);
    const afterRequest = await stored();
    expect(afterRequest.profiles).toEqual(before.profiles);

    // tRPC: create, update, delete through the same catalog
    const trpc = callerFor(a.authority, ACTORS.admin);
    expect(await trpc.profiles.create({ ...LAB, name: 'via-trpc' })).toMatchObject({ source: 'api' });
    expect(
      await trpc.profiles.update({ ...LAB, name: undefined, profile: 'via-trpc', maxLifetime: '9d' }),
    ).toMatchObject({ maxLifetime: '9d' });
    const clash = await trpcError(trpc.profiles.create({ ...LAB, name: 'via-trpc' }));
    expect(pkiCodeOf(clash)).toBe('profile.exists');
    expect(await trpc.profiles.delete({ name: 'via-trpc' })).toEqual({ ok: true });
    const deleted = await rest(a, 'DELETE', '/profiles/via-trpc');
    expect(deleted.body.code).toBe('profile.not_found');

    const actions = (await a.authority.audit.list({ limit: 1000 })).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['profile.created', 'profile.updated', 'profile.deleted']));
  });

  it('the OpenAPI document lists the profile routes', async () => {
    const doc = (await (await fetch(`${instances[0]!.base}/api/v1/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/v1/profiles'] ?? {})).toEqual(expect.arrayContaining(['get', 'post']));
    expect(Object.keys(doc.paths['/api/v1/profiles/{name}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'put', 'delete']),
    );
  });
});
