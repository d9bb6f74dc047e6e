// An intermediate CA signed outside the deployment, over the API: REST `POST /api/v1/cas/external` (tRPC
// `ca.createExternal`) makes the key here and answers the pending CA with its CSR; an openssl root outside signs it;
// REST `PUT /api/v1/cas/:id/certificate` (tRPC `ca.importCertificate`) checks the certificate against the key and makes
// the CA active. Every refusal is a 4xx with its code and message and leaves the database as it was (digest of every
// table). openssl checks each CSR's signature and each imported CA certificate against its outside root.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import { restCallFor, type RestTwinName } from '@pkim/contract';
import {
  ACTORS,
  callerFor,
  createRootCa,
  listen,
  openAuthorityFixture,
  pkiCodeOf,
  trpcError,
  type AuthorityFixture,
} from './server-test-support';
import { opensslSignCaCsr } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import { sqliteDigest } from '../../../tests/support/db-digest';

/** `openssl req -verify`: the CSR's signature is good and its subject is `cn` */
function expectCsrOf(csrPem: string, cn: string): void {
  const r = opensslRaw(['req', '-verify', '-noout', '-subject'], Buffer.from(csrPem));
  expect(r.output).toMatch(/verify OK/i);
  expect(r.stdout).toContain(`CN = ${cn}`);
}

describe('external intermediate CAs over REST and tRPC', () => {
  let fx: AuthorityFixture;
  let app: FastifyInstance;
  let base: string;
  let db: Database.Database;
  const tokens = {} as Record<'admin' | 'operator' | 'otherCaAdmin', string>;

  const call = async (name: RestTwinName, input: Record<string, unknown>, token = tokens.admin) => {
    const c = restCallFor(name, input);
    const r = await fetch(`${base}${c.url}`, {
      method: c.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {}),
    });
    return { status: r.status, json: (await r.json()) as Record<string, any> };
  };
  const subject = (cn: string) => ({ commonName: cn, organization: 'Example' });

  beforeAll(async () => {
    fx = await openAuthorityFixture({});
    const a = fx.authority;
    await createRootCa(a, 'ext-other');
    const token = async (name: string, role: 'admin' | 'operator', cas?: string[]) =>
      (await a.auth.createToken({ name, role, resources: cas ? { cas } : undefined }, ACTORS.admin)).token;
    tokens.admin = await token('ext-admin', 'admin');
    tokens.operator = await token('ext-operator', 'operator');
    tokens.otherCaAdmin = await token('ext-other-admin', 'admin', ['ext-other']);
    app = await buildServer(a, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
    base = await listen(app);
    db = new Database(join(fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
  });
  afterAll(async () => {
    db?.close();
    await app?.close();
    await fx?.close();
  });

  it('REST: creates a pending CA with its CSR (201), imports its certificate, and it issues', async () => {
    const created = await call('ca.createExternal', {
      name: 'ext-rest',
      subject: subject('Ext REST CA'),
      keyType: 'ec-p256',
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ name: 'ext-rest', status: 'pending', serial: null, keyType: 'ec-p256' });
    expectCsrOf(created.json.csr as string, 'Ext REST CA');
    const shown = await call('ca.get', { ref: 'ext-rest' });
    expect(shown.json).toMatchObject({ status: 'pending', certificatePem: null, csr: created.json.csr });

    const outside = opensslSignCaCsr(created.json.csr as string);
    const imported = await call('ca.importCertificate', { ref: created.json.id, certificate: outside.subPem });
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    expect(imported.json).toMatchObject({ id: created.json.id, status: 'active', issuer: 'CN=Outside Root' });
    expect(imported.json).not.toHaveProperty('csr');
    const v = opensslVerify({ leafPem: imported.json.certificatePem as string, rootPem: outside.rootPem });
    expect(v.ok, v.output).toBe(true);

    const leaf = await call('certificate.issueWithKey', {
      ca: 'ext-rest',
      profile: 'tls-server',
      subject: { commonName: 'app.example.com' },
      sans: { dns: ['app.example.com'] },
      keyType: 'ec-p256',
    });
    expect(leaf.status, JSON.stringify(leaf.json)).toBe(201);
    const chain = opensslVerify({
      leafPem: leaf.json.certificatePem as string,
      chainPems: [outside.subPem],
      rootPem: outside.rootPem,
      purpose: 'sslserver',
      hostname: 'app.example.com',
    });
    expect(chain.ok, chain.output).toBe(true);
  });

  it('REST: refuses bad input with a 4xx code and message, and changes nothing', async () => {
    const pending = await call('ca.createExternal', { name: 'ext-pending', subject: subject('P'), keyType: 'ec-p256' });
    expect(pending.status).toBe(201);
    const stranger = opensslSignCaCsr(
      (await call('ca.createExternal', { name: 'ext-stranger', subject: subject('S'), keyType: 'ec-p256' })).json
        .csr as string,
    );
    const good = opensslSignCaCsr(pending.json.csr as string).subPem;
    const armoured = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const refusals: [string, RestTwinName, Record<string, unknown>, string, number, string, RegExp][] = [
      [
        'name taken',
        'ca.createExternal',
        { name: 'ext-pending', subject: subject('P'), keyType: 'ec-p256' },
        tokens.admin,
        409,
        'ca.name_taken',
        /ext-pending/,
      ],
      [
        'with a parent',
        'ca.createExternal',
        { name: 'ext-x', subject: subject('X'), keyType: 'ec-p256', parent: 'ext-other' },
        tokens.admin,
        400,
        'input.invalid',
        /parent/,
      ],
      [
        'key type',
        'ca.createExternal',
        { name: 'ext-x', subject: subject('X'), keyType: 'dsa' },
        tokens.admin,
        400,
        'input.invalid',
        /keyType/,
      ],
      [
        'operator',
        'ca.createExternal',
        { name: 'ext-x', subject: subject('X'), keyType: 'ec-p256' },
        tokens.operator,
        403,
        'auth.forbidden',
        /'ca:write' is not allowed/,
      ],
      [
        'not a PEM',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: 'hello' },
        tokens.admin,
        400,
        'certificate.invalid',
        /not a certificate/,
      ],
      [
        'not DER',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: armoured },
        tokens.admin,
        400,
        'certificate.invalid',
        /./,
      ],
      [
        'another key',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: stranger.subPem },
        tokens.admin,
        400,
        'ca.certificate_mismatch',
        /public keys differ/,
      ],
      [
        'the outside root itself',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: stranger.rootPem },
        tokens.admin,
        400,
        'ca.certificate_mismatch',
        /public keys differ/,
      ],
      [
        'unknown CA',
        'ca.importCertificate',
        { ref: 'no-such-ca', certificate: good },
        tokens.admin,
        404,
        'ca.not_found',
        /no-such-ca/,
      ],
      [
        'active CA',
        'ca.importCertificate',
        { ref: 'ext-other', certificate: good },
        tokens.admin,
        409,
        'ca.not_active',
        /only a pending CA/,
      ],
      [
        'operator import',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: good },
        tokens.operator,
        403,
        'auth.forbidden',
        /'ca:write' is not allowed/,
      ],
      [
        'admin of another CA',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: good },
        tokens.otherCaAdmin,
        403,
        'provisioner.ca_not_allowed',
        /./,
      ],
    ];
    for (const [what, name, input, token, status, code, message] of refusals) {
      const before = sqliteDigest(db);
      const r = await call(name, input, token);
      expect({ what, status: r.status, code: r.json.code }).toEqual({ what, status, code });
      expect(r.json.message, what).toMatch(message);
      expect(sqliteDigest(db), `${what}: refused, but the database changed`).toEqual(before);
    }
    expect((await call('ca.get', { ref: 'ext-pending' })).json).toMatchObject({ status: 'pending' });
  });

  it('tRPC: the same procedures, codes and answers', async () => {
    const admin = callerFor(fx.authority, ACTORS.admin);
    const operator = callerFor(fx.authority, ACTORS.operator);
    const input = { name: 'ext-trpc', subject: subject('Ext tRPC CA'), keyType: 'ec-p384' as const };
    expect((await trpcError(operator.ca.createExternal(input))).code).toBe('FORBIDDEN');
    const created = await admin.ca.createExternal(input);
    expect(created).toMatchObject({ name: 'ext-trpc', status: 'pending', keyType: 'ec-p384' });
    expectCsrOf(created.csr, 'Ext tRPC CA');
    const outside = opensslSignCaCsr(created.csr, '/CN=Outside tRPC Root');
    const mismatch = await trpcError(admin.ca.importCertificate({ ref: 'ext-trpc', certificate: outside.rootPem }));
    expect([mismatch.code, pkiCodeOf(mismatch)]).toEqual(['BAD_REQUEST', 'ca.certificate_mismatch']);
    const out = await admin.ca.importCertificate({ ref: 'ext-trpc', certificate: outside.subPem });
    expect(out).toMatchObject({ id: created.id, status: 'active', issuer: 'CN=Outside tRPC Root' });
    const v = opensslVerify({ leafPem: out.certificatePem!, rootPem: outside.rootPem });
    expect(v.ok, v.output).toBe(true);
    const again = await trpcError(admin.ca.importCertificate({ ref: 'ext-trpc', certificate: outside.subPem }));
    expect([again.code, pkiCodeOf(again)]).toEqual(['CONFLICT', 'ca.not_active']);
  });
});
