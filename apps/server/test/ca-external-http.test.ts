// An intermediate CA signed outside the deployment, over the API: REST `POST /api/v1/cas/external` (tRPC
// `ca.createExternal`) makes the key here and answers the pending CA with its CSR; an openssl root outside signs it;
// REST `PUT /api/v1/cas/:id/certificate` (tRPC `ca.importCertificate`) checks the certificate against the key and makes
// the CA active once its subject is the CSR's and its signature verifies — with the outside issuer's certificate given
// beside it, or with a CA of the deployment, which then becomes its parent (the chain recorded). `ttl` with
// `createExternal` is refused (the outside CA decides the dates). Every refusal is a 4xx with its code and message and
// leaves the database as it was (digest of every table). openssl checks each CSR's signature and each imported CA
// certificate against its issuer (outside root or the deployment's CA, whose key openssl signed with).
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
import { opensslSignCaCsr, opensslSignCaCsrUnderIntermediate } from '../../../tests/support/openssl-tools';
import { softwareKeyPem } from '../../../tests/support/software-key';
import { certtoolVerify, goVerify, opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
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

  let other: Awaited<ReturnType<typeof createRootCa>>;
  beforeAll(async () => {
    fx = await openAuthorityFixture({});
    const a = fx.authority;
    other = await createRootCa(a, 'ext-other');
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
    const imported = await call('ca.importCertificate', {
      ref: created.json.id,
      certificate: outside.subPem,
      issuerCertificate: outside.rootPem,
    });
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    expect(imported.json).toMatchObject({
      id: created.json.id,
      status: 'active',
      issuer: 'CN=Outside Root',
      parentId: null,
    });
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
    const pendingCsr = pending.json.csr as string;
    const good = opensslSignCaCsr(pendingCsr).subPem;
    const renamed = opensslSignCaCsr(pendingCsr, undefined, { subject: '/O=Example/CN=Someone Else' });
    const selfIssued = opensslSignCaCsr(pendingCsr, '/O=Example/CN=P');
    // an outside root named as the deployment's CA `ext-other`, with another key: the name alone proves nothing
    const impostor = opensslSignCaCsr(pendingCsr, '/CN=ext-other');
    // another outside root of the same name (CN=Outside Root), another key
    const sameNameOtherKey = opensslSignCaCsr(pendingCsr).rootPem;
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
        'another subject',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: renamed.subPem, issuerCertificate: renamed.rootPem },
        tokens.admin,
        400,
        'ca.certificate_mismatch',
        /subject CN=Someone Else,O=Example is not the CSR's subject CN=P,O=Example/,
      ],
      [
        'issuer neither here nor given',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: good },
        tokens.admin,
        400,
        'ca.issuer_unverified',
        /issuer CN=Outside Root is not a CA here: give its certificate/,
      ],
      [
        'issuer certificate given of another key',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: good, issuerCertificate: sameNameOtherKey },
        tokens.admin,
        400,
        'ca.issuer_unverified',
        /does not verify with the key of the issuer certificate given/,
      ],
      [
        'issuer certificate given of another name',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: good, issuerCertificate: other.pem },
        tokens.admin,
        400,
        'ca.issuer_unverified',
        /given is for CN=ext-other, but the certificate was issued by CN=Outside Root/,
      ],
      [
        'issuer named as a CA here, another key',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: impostor.subPem },
        tokens.admin,
        400,
        'ca.issuer_unverified',
        /does not verify with the key of CA ext-other/,
      ],
      [
        'self-issued',
        'ca.importCertificate',
        { ref: 'ext-pending', certificate: selfIssued.subPem, issuerCertificate: selfIssued.rootPem },
        tokens.admin,
        400,
        'ca.issuer_unverified',
        /self-issued/,
      ],
      [
        'a lifetime for an external CA',
        'ca.createExternal',
        { name: 'ext-x', subject: subject('X'), keyType: 'ec-p256', ttl: '5y' },
        tokens.admin,
        400,
        'input.invalid',
        /lifetime is set by the outside CA/,
      ],
      [
        'a lifetime in days for an external CA',
        'ca.createExternal',
        { name: 'ext-x', subject: subject('X'), keyType: 'ec-p256', validityDays: 365 },
        tokens.admin,
        400,
        'input.invalid',
        /lifetime is set by the outside CA/,
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

  it("REST: signed by a CA of the deployment, it is verified with that CA's key and becomes its child", async () => {
    const created = await call('ca.createExternal', {
      name: 'ext-known',
      subject: subject('Known'),
      keyType: 'ec-p256',
    });
    expect(created.status).toBe(201);
    // openssl signs with ext-other's own key (read out of the deployment's software custody for the test)
    const keyPem = await softwareKeyPem(fx.dataDir, other.view.ca.keyUri);
    const signed = opensslSignCaCsr(created.json.csr as string, undefined, {
      issuer: { certPem: other.pem, keyPem },
    });
    const imported = await call('ca.importCertificate', { ref: 'ext-known', certificate: signed.subPem });
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    expect(imported.json).toMatchObject({ status: 'active', issuer: 'CN=ext-other', parentId: other.id });
    // the chain is recorded: the CA, then its parent
    const chain = (await call('ca.exportChain', { ref: 'ext-known' })).json;
    const pems = String(chain.chainPem).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g);
    expect(pems?.map((p) => p.replace(/\s/g, ''))).toEqual(
      [imported.json.certificatePem as string, other.pem].map((p) => p.trim().replace(/\s/g, '')),
    );
    const v = opensslVerify({ leafPem: imported.json.certificatePem as string, rootPem: other.pem });
    expect(v.ok, v.output).toBe(true);
  });

  it('REST: an outside chain (intermediate + root) is verified link by link, stored, served after the CA', async () => {
    const created = await call('ca.createExternal', {
      name: 'ext-chain',
      subject: subject('Chain'),
      keyType: 'ec-p256',
    });
    expect(created.status).toBe(201);
    const outside = opensslSignCaCsrUnderIntermediate(created.json.csr as string);
    // the intermediate with a root of the same name but another key: the intermediate's own signature fails
    const foreignRoot = opensslSignCaCsr(created.json.csr as string).rootPem;
    const refusals: [string, string, RegExp][] = [
      [
        'only the root',
        outside.rootPem,
        /given is for CN=Outside Root, but the certificate was issued by CN=Outside Inter/,
      ],
      [
        'the intermediate under another key of its root',
        outside.intermediatePem + foreignRoot,
        /issuer certificate CN=Outside Intermediate's signature does not verify with the key of the issuer/,
      ],
      [
        'a certificate off the path',
        outside.intermediatePem + other.pem,
        /not on the certificate's path: CN=ext-other/,
      ],
      [
        'no certificate in it',
        '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n',
        /no PEM/,
      ],
    ];
    for (const [what, issuerCertificate, message] of refusals) {
      const before = sqliteDigest(db);
      const r = await call('ca.importCertificate', {
        ref: 'ext-chain',
        certificate: outside.subPem,
        issuerCertificate,
      });
      expect(r.status, what).toBe(400);
      expect(r.json.message, what).toMatch(message);
      expect(sqliteDigest(db), `${what}: refused, but the database changed`).toEqual(before);
    }
    // root first: the chain is put in order (issuer first) by name and signature
    const imported = await call('ca.importCertificate', {
      ref: 'ext-chain',
      certificate: outside.subPem,
      issuerCertificate: outside.rootPem + outside.intermediatePem,
    });
    expect(imported.status, JSON.stringify(imported.json)).toBe(200);
    const pems = (pem: unknown) =>
      (String(pem).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((p) =>
        p.replace(/\s/g, ''),
      );
    const expected = pems(outside.subPem + outside.intermediatePem + outside.rootPem);
    expect(pems(imported.json.chainPem)).toEqual(expected);
    expect(pems((await call('ca.get', { ref: 'ext-chain' })).json.chainPem)).toEqual(expected);
    expect(pems((await call('ca.exportChain', { ref: 'ext-chain' })).json.chainPem)).toEqual(expected);

    // a leaf issued under it, and a CA created under it, carry the whole chain up to the outside root
    const leaf = await call('certificate.issueWithKey', {
      ca: 'ext-chain',
      profile: 'tls-server',
      subject: { commonName: 'app.example.com' },
      sans: { dns: ['app.example.com'] },
      keyType: 'ec-p256',
    });
    expect(leaf.status, JSON.stringify(leaf.json)).toBe(201);
    expect(pems(leaf.json.chainPem)).toEqual(expected);
    const served = String(leaf.json.chainPem)
      .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!
      .map((p) => `${p}\n`);
    const leafPem = leaf.json.certificatePem as string;
    const o = opensslVerify({ leafPem, chainPems: served, rootPem: outside.rootPem, purpose: 'sslserver' });
    expect(o.ok, o.output).toBe(true);
    const g = goVerify({ leafPem, intermediatesPems: served, rootPem: outside.rootPem, dnsName: 'app.example.com' });
    expect(g.ok, g.output).toBe(true);
    const c = certtoolVerify({ leafPem, chainPems: served, rootPem: outside.rootPem, purpose: 'serverAuth' });
    expect(c.ok, c.output).toBe(true);
    // without the stored outside intermediate the same leaf does not verify
    const cut = opensslVerify({ leafPem, chainPems: served.slice(0, 1), rootPem: outside.rootPem });
    expect(cut.ok, cut.output).toBe(false);

    const sub = await call('ca.create', {
      name: 'ext-chain-sub',
      subject: subject('Chain Sub'),
      keyType: 'ec-p256',
      parent: 'ext-chain',
    });
    expect(sub.status, JSON.stringify(sub.json)).toBe(201);
    expect(pems(sub.json.chainPem)).toEqual([pems(sub.json.certificatePem)[0], ...expected]);

    // the Vault-compatible chain reads of a mount on it
    await fx.authority.vault.mounts.mount({ path: 'extchain', ca: 'ext-chain', maxLeaseTtl: '87600h' }, ACTORS.admin);
    const caChain = await fetch(`${base}/v1/extchain/ca_chain`);
    expect(caChain.status).toBe(200);
    expect(pems(await caChain.text())).toEqual(expected);
    const certChain = (await (await fetch(`${base}/v1/extchain/cert/ca_chain`)).json()) as {
      data: { ca_chain: string };
    };
    expect(pems(certChain.data.ca_chain)).toEqual(expected);
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
    const unverified = await trpcError(admin.ca.importCertificate({ ref: 'ext-trpc', certificate: outside.subPem }));
    expect([unverified.code, pkiCodeOf(unverified)]).toEqual(['BAD_REQUEST', 'ca.issuer_unverified']);
    const lifetime = await trpcError(admin.ca.createExternal({ ...input, name: 'ext-trpc-ttl', ttl: '1y' }));
    expect([lifetime.code, pkiCodeOf(lifetime)]).toEqual(['BAD_REQUEST', 'input.invalid']);
    const out = await admin.ca.importCertificate({
      ref: 'ext-trpc',
      certificate: outside.subPem,
      issuerCertificate: outside.rootPem,
    });
    expect(out).toMatchObject({ id: created.id, status: 'active', issuer: 'CN=Outside tRPC Root' });
    const v = opensslVerify({ leafPem: out.certificatePem!, rootPem: outside.rootPem });
    expect(v.ok, v.output).toBe(true);
    const again = await trpcError(
      admin.ca.importCertificate({ ref: 'ext-trpc', certificate: outside.subPem, issuerCertificate: outside.rootPem }),
    );
    expect([again.code, pkiCodeOf(again)]).toEqual(['CONFLICT', 'ca.not_active']);
  });
});
