import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createKmipBackend } from '@pkim/keys';
import {
  ACTORS,
  callerFor,
  openAuthorityFixture,
  pkiCodeOf,
  trpcError,
  type AuthorityFixture,
} from './server-test-support';
import { opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { internalsOf } from '@pkim/authority/internals';

const valid = {
  name: 'Example Root',
  subject: {
    commonName: 'Example Root CA',
    organization: 'Example Inc',
    organizationalUnit: 'PKI',
    country: 'US',
    state: 'CA',
    locality: 'San Francisco',
  },
  keyType: 'ECDSA-P256' as const,
  validityDays: 3650,
};

describe('ca.create (tRPC)', () => {
  let fx: AuthorityFixture;
  beforeAll(async () => {
    fx = await openAuthorityFixture();
  });
  afterAll(async () => fx?.close());

  it('creates a root CA: PEM that openssl verifies, a DB row with the key id, a ca.created audit event', async () => {
    const caller = callerFor(fx.authority, ACTORS.admin);
    const ca = await caller.ca.create(valid);
    expect(ca.id).toMatch(/^ca_/);
    expect(ca.status).toBe('active');
    expect(ca.keyType).toBe('ec-p256');
    expect(ca.keyBackend).toBe('software');
    expect(ca.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const text = opensslText(ca.certificatePem!);
    expect(text).toContain('CN=Example Root CA');
    expect(text).toContain('C=US');
    expect(text).toMatch(/CA:TRUE/);
    expect(opensslVerify({ leafPem: ca.certificatePem!, rootPem: ca.certificatePem!, purpose: 'any' }).ok).toBe(true);
    expect(Date.parse(ca.notAfter!) - Date.parse(ca.notBefore!)).toBeGreaterThanOrEqual(3649 * 86_400_000);

    const row = await internalsOf(fx.authority).store.cas.findById(ca.id);
    expect(row?.keyUri).toMatch(/^software:key_/);
    expect(row?.keyUri).toBe(ca.keyUri);
    const events = await fx.authority.audit.list({ action: 'ca.created', target: ca.id, limit: 5 });
    expect(events).toHaveLength(1);
    expect(events[0]!.actor).toBe(ACTORS.admin.id);
  });

  it.each([
    ['RSA-2048', 'rsa-2048'],
    ['ECDSA-P384', 'ec-p384'],
  ])('maps key type %s to %s', async (keyType, expected) => {
    const ca = await callerFor(fx.authority, ACTORS.admin).ca.create({
      ...valid,
      name: `kt-${keyType}`,
      keyType: keyType as 'RSA-2048',
    });
    expect(ca.keyType).toBe(expected);
    expect(opensslText(ca.certificatePem!)).toContain(expected.startsWith('rsa') ? 'rsaEncryption' : 'id-ecPublicKey');
  });

  it.each([
    ['ed25519', 'ED25519'],
    ['rsa-3072', 'Public-Key: (3072 bit)'],
  ] as const)(
    'creates a %s root and intermediate as the local CLI does; a leaf below verifies with openssl',
    async (keyType, shown) => {
      const caller = callerFor(fx.authority, ACTORS.admin);
      const root = await caller.ca.create({ ...valid, name: `root-${keyType}`, keyType });
      const sub = await caller.ca.create({
        ...valid,
        name: `sub-${keyType}`,
        subject: { commonName: `Sub ${keyType}` },
        validityDays: 1825,
        parent: root.id,
        keyType,
      });
      expect([root.keyType, sub.keyType]).toEqual([keyType, keyType]);
      expect(opensslText(sub.certificatePem!)).toContain(shown);
      const leaf = await caller.certificate.issueWithKey({
        ca: sub.id,
        profile: 'tls-server',
        subject: { commonName: `${keyType}.example.com` },
        sans: { dns: [`${keyType}.example.com`] },
        keyType: 'ec-p256',
      });
      const v = opensslVerify({
        leafPem: leaf.certificatePem,
        chainPems: [sub.certificatePem!],
        rootPem: root.certificatePem!,
        purpose: 'sslserver',
      });
      expect(v.ok, v.output).toBe(true);
    },
  );

  const invalid: [string, Record<string, unknown>][] = [
    ['an empty name', { name: '' }],
    ['a name with control characters', { name: 'bad\nname' }],
    ['a name longer than 128 characters', { name: 'x'.repeat(129) }],
    ['a subject without common name', { subject: { organization: 'Example' } }],
    ['an empty common name', { subject: { commonName: '' } }],
    ['a common name longer than 64 characters', { subject: { commonName: 'c'.repeat(65) } }],
    ['a three-letter country', { subject: { commonName: 'X', country: 'USA' } }],
    ['a lowercase country', { subject: { commonName: 'X', country: 'us' } }],
    ['an unknown subject field', { subject: { commonName: 'X', email: 'a@b.c' } }],
    ['an unsupported key type', { keyType: 'DSA-1024' }],
    ['a key type spelled in another vocabulary', { keyType: 'Ed25519' }],
    ['zero validity days', { validityDays: 0 }],
    ['fractional validity days', { validityDays: 1.5 }],
    ['validity beyond 100 years', { validityDays: 40_000 }],
    ['an unknown key backend', { backend: 'hsm' }],
    ['a negative path length', { pathLen: -1 }],
    ['a malformed parent id', { parentId: 'not an id' }],
    ['a malformed name constraint', { nameConstraints: { permittedDns: ['not a domain!'] } }],
    ['a malformed IP constraint', { nameConstraints: { permittedIp: ['10.0.0.0'] } }],
    ['an unknown top-level field', { owner: 'me' }],
  ];

  it.each(invalid)('rejects %s with BAD_REQUEST and writes nothing', async (_label, patch) => {
    const before = {
      cas: (await internalsOf(fx.authority).store.cas.list()).length,
      events: await internalsOf(fx.authority).store.audit.count(),
    };
    const e = await trpcError(
      callerFor(fx.authority, ACTORS.admin).ca.create({
        ...valid,
        name: `invalid-${Math.random()}`.replace('.', ''),
        ...patch,
      }),
    );
    expect(e.code).toBe('BAD_REQUEST');
    expect((await internalsOf(fx.authority).store.cas.list()).length).toBe(before.cas);
    expect(await internalsOf(fx.authority).store.audit.count()).toBe(before.events);
  });

  it('rejects a duplicate name with CONFLICT (ca.name_taken)', async () => {
    const e = await trpcError(callerFor(fx.authority, ACTORS.admin).ca.create(valid));
    expect(e.code).toBe('CONFLICT');
    expect(pkiCodeOf(e)).toBe('ca.name_taken');
  });

  it('refuses an operator with FORBIDDEN', async () => {
    const e = await trpcError(callerFor(fx.authority, ACTORS.operator).ca.create({ ...valid, name: 'op' }));
    expect(e.code).toBe('FORBIDDEN');
  });
});

describe('ca.create when the key backend fails (real KMIP backend against a dead and a silent KMS)', () => {
  let silentServer: Server;
  let silentPort: number;
  let deadPort: number;
  const sockets = new Set<import('node:net').Socket>();

  beforeAll(async () => {
    // accepts connections and never answers
    silentServer = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silentServer.listen(0, '127.0.0.1', r));
    silentPort = (silentServer.address() as AddressInfo).port;
    // a port nobody listens on
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    deadPort = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silentServer.close(() => r()));
  });

  it.each([
    ['is down (connection refused)', () => deadPort, 'kms.unavailable'],
    ['never answers (per-attempt timeout)', () => silentPort, 'kms.timeout'],
  ])(
    'maps a KMS that %s to SERVICE_UNAVAILABLE with a stable code, a ca.create_failed audit event and no row',
    async (_label, port, code) => {
      const kmip = createKmipBackend({ url: `http://127.0.0.1:${port()}`, timeoutMs: 300, retries: 1 });
      const fx = await openAuthorityFixture({ keyBackends: [kmip] });
      try {
        const started = Date.now();
        const e = await trpcError(
          callerFor(fx.authority, ACTORS.admin).ca.create({ ...valid, name: 'kms-root', backend: 'kmip' }),
        );
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(e.code).toBe('SERVICE_UNAVAILABLE');
        expect(pkiCodeOf(e)).toBe(code);
        expect(await internalsOf(fx.authority).store.cas.list()).toHaveLength(0);
        const failed = await fx.authority.audit.list({ action: 'ca.create_failed', limit: 5 });
        expect(failed).toHaveLength(1);
        expect(failed[0]!.outcome).toBe('failure');
        expect(JSON.stringify(failed[0]!.details)).toContain(code);
      } finally {
        await fx.close();
      }
    },
  );
});
