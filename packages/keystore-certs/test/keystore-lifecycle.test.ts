// The tenant keystore client-certificate lifecycle against the real server (Vault transport of `pkim`'s Fastify
// app, SQLite, software CA keys), with ONE injected clock for the PKI and the lifecycle: 3 tenants × 2 keystore
// types issued → clock moved into the renewal window → renewed, each new certificate tested by a real mTLS
// handshake against a local TLS server that requires client certificates from the CA → a failing handshake keeps the
// old certificate active → after the grace period the old serials are on the CRL (openssl) and the TLS server
// checking that CRL refuses them while it accepts the new ones → disconnect revokes and wipes the key material.
//
// The timeline runs in the past and ends before real time, so every certificate and CRL the TLS server and openssl
// check (they use the real clock) is valid when checked.
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '@pkim/shared';
import {
  createKeystoreCertManager,
  createVaultClient,
  localKek,
  mtlsHandshake,
  openKeystoreStore,
  roleForTemplate,
  DEFAULT_TEMPLATES,
  type KeystoreCertManager,
  type KeystoreStore,
} from '@pkim/keystore-certs';
import { openVaultFixture, vaultCall, type VaultFixture } from '../../../apps/server/test/vault/vault-test-support';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslText, opensslVerify } from '../../../tests/support/verifiers';
import { keystoreEndpoint, otherCaPem, serverPki, type KeystoreEndpoint } from './keystore-test-support';

const DAY = 86_400_000;
const REAL = Date.now();
const clock = fixedClock(REAL - 345 * DAY);
const TENANTS = ['acme-corp-12345', 'globex', 'initech'];

let f: VaultFixture;
let tmp: ReturnType<typeof tempDir>;
let store: KeystoreStore;
let manager: KeystoreCertManager;
let srv: ReturnType<typeof serverPki>;
let thales: KeystoreEndpoint;
let aws: KeystoreEndpoint;
/** the endpoint of initech's aws_kms keystore, which will refuse the renewed certificate once */
let flaky: KeystoreEndpoint;
let rootPem: string;
const kek = localKek(randomBytes(32));
const firstCreds = new Map<
  string,
  { serialNumber: string; certificatePem: string; caChain: string[]; privateKeyPem: Buffer }
>();

const key = (t: string, k: string) => `${t}/${k}`;
const active = (t: string, k: string) => manager.connection(t, k).active!;

beforeAll(async () => {
  f = await openVaultFixture({ clock, crlValidityMs: 30 * DAY });
  rootPem = f.rootPem;
  tmp = tempDir('pkim-keystore-');
  // the PKI side: one role per template (what `pkim keystore init-roles` writes), config/crl for a long CRL
  for (const [type, t] of Object.entries(DEFAULT_TEMPLATES)) {
    const r = await vaultCall(f, 'POST', `pki/roles/keystore-${type}`, roleForTemplate(t));
    expect(r.status, r.text).toBe(200);
  }
  expect((await vaultCall(f, 'POST', 'pki/config/crl', { expiry: '720h' })).status).toBe(200);
  srv = serverPki();
  thales = await keystoreEndpoint(srv, [rootPem]);
  aws = await keystoreEndpoint(srv, [rootPem]);
  flaky = await keystoreEndpoint(srv, [rootPem]);
  store = openKeystoreStore(join(tmp.dir, 'keystore.db'));
  manager = createKeystoreCertManager({
    store,
    vault: createVaultClient({ address: f.url, auth: { method: 'token', token: f.token } }),
    kek,
    clock,
    actor: 'test',
  });
}, 120_000);

afterAll(async () => {
  for (const c of firstCreds.values()) c.privateKeyPem.fill(0);
  await Promise.all([thales, aws, flaky].map((e) => e?.close()));
  store?.close();
  await f?.close();
  tmp?.cleanup();
});

describe('tenant keystore certificate lifecycle (injected clock, real server, real mTLS)', () => {
  it('issues one certificate per tenant per keystore through the Vault API, key sealed per tenant', async () => {
    // thales_luna keystores are connected 345 days ago, aws_kms ones 170 days ago
    for (const t of TENANTS) {
      await manager.connect({
        tenantId: t,
        keystoreType: 'thales_luna',
        endpoints: [thales.endpoint],
        serverCaPem: srv.caPem,
      });
    }
    clock.set(REAL - 170 * DAY);
    for (const t of TENANTS) {
      await manager.connect({
        tenantId: t,
        keystoreType: 'aws_kms',
        endpoints: [t === 'initech' ? flaky.endpoint : aws.endpoint],
        serverCaPem: srv.caPem,
      });
    }
    expect(thales.accepted.length + aws.accepted.length + flaky.accepted.length).toBe(6);

    for (const t of TENANTS) {
      for (const [k, bits, cn] of [
        ['thales_luna', 'Public-Key: (4096 bit)', `tenant-${t}-thales.keystore.internal`],
        ['aws_kms', 'Public-Key: (256 bit)', `tenant-${t}-aws.keystore.internal`],
      ] as const) {
        const view = manager.connection(t, k);
        expect(view.certificates.map((c) => c.status)).toEqual(['active']);
        const creds = await manager.credentials(t, k);
        firstCreds.set(key(t, k), creds);
        const text = opensslText(creds.certificatePem);
        expect(text).toContain(bits);
        expect(text).toContain(`CN=${cn}`);
        expect(text).toContain(`DNS:tenant-${t}.internal`);
        expect(text).toMatch(/Extended Key Usage:\s*\n\s*TLS Web Client Authentication\s*\n/);
        expect(new X509Certificate(creds.certificatePem).checkPrivateKey(createPrivateKey(creds.privateKeyPem))).toBe(
          true,
        );
        const v = opensslVerify({
          leafPem: creds.certificatePem,
          chainPems: creds.caChain.slice(0, -1),
          rootPem,
          purpose: 'sslclient',
        });
        expect(v.ok, v.output).toBe(true);
        // 8760h / 4380h after issuance
        const days = (Date.parse(view.active!.notAfter) - Date.parse(view.active!.activatedAt!)) / DAY;
        expect(Math.round(days * 2) / 2).toBe(k === 'thales_luna' ? 365 : 182.5);
      }
    }
    // stored sealed: no PEM key in the database, and each tenant has its own wrapped data key
    const rows = TENANTS.flatMap((t) =>
      ['thales_luna', 'aws_kms'].flatMap((k) => store.certificatesOf(store.connection(t, k)!.id)),
    );
    for (const r of rows) {
      expect(r.encryptedPrivateKey).toBeTruthy();
      expect(Buffer.from(r.encryptedPrivateKey!, 'base64').toString('latin1')).not.toContain('PRIVATE KEY');
    }
    const wrapped = TENANTS.map((t) => store.tenantKey(t)!.wrappedKey);
    expect(new Set(wrapped).size).toBe(3);
    // the key of one tenant does not open another tenant's certificate key (AAD binds tenant and certificate)
    const a = store.connection('globex', 'aws_kms')!;
    const row = store.certificatesOf(a.id)[0]!;
    store.commit({ updateCertificates: [{ id: row.id, patch: { tenantId: 'initech' } }] });
    await expect(manager.credentials('globex', 'aws_kms')).rejects.toMatchObject({ code: 'keystore.key_unavailable' });
    store.commit({ updateCertificates: [{ id: row.id, patch: { tenantId: 'globex' } }] });
    expect((await manager.credentials('globex', 'aws_kms')).serialNumber).toBe(row.serialNumber);
  });

  it('renews nothing before the renewal window', async () => {
    clock.set(REAL - 20 * DAY); // thales: 40 days left, aws: 32.5 days left
    const s = await manager.tick();
    expect(s).toEqual({ renewed: [], renewalFailed: [], revokedAfterGrace: [], errors: [] });
  });

  it('renews inside the window; a failing handshake keeps the old certificate active', async () => {
    flaky.trust([otherCaPem()]); // initech's aws_kms keystore stops trusting our CA
    clock.set(REAL - 9 * DAY); // thales: 29 days left, aws: 21.5 days left
    const s = await manager.tick();
    expect(s.renewed.sort()).toEqual(
      ['acme-corp-12345/aws_kms', 'acme-corp-12345/thales_luna', 'globex/aws_kms', 'globex/thales_luna']
        .concat(['initech/thales_luna'])
        .sort(),
    );
    expect(s.renewalFailed.map((x) => x.connection)).toEqual(['initech/aws_kms']);
    expect(s.renewalFailed[0]!.error).toMatch(/127\.0\.0\.1:\d+: /);

    const kept = manager.connection('initech', 'aws_kms');
    expect(kept.active!.serialNumber).toBe(firstCreds.get('initech/aws_kms')!.serialNumber);
    const failed = kept.certificates.find((c) => c.status === 'failed')!;
    expect(failed.hasPrivateKey).toBe(false);
    expect(failed.revokedAt).not.toBeNull(); // the unused certificate is revoked at once

    for (const t of TENANTS) {
      for (const k of ['thales_luna', 'aws_kms']) {
        if (key(t, k) === 'initech/aws_kms') continue;
        const v = manager.connection(t, k);
        const old = v.certificates.find((c) => c.status === 'rotating')!;
        expect(old.serialNumber).toBe(firstCreds.get(key(t, k))!.serialNumber);
        expect(Date.parse(old.dueAt!)).toBe(REAL - 9 * DAY + 7 * DAY);
        expect(v.active!.serialNumber).not.toBe(old.serialNumber);
      }
    }

    // the keystore is fixed; the next pass after the retry delay rotates it
    flaky.trust([rootPem]);
    clock.set(REAL - 9 * DAY + 30 * 60_000);
    expect((await manager.tick()).renewed).toEqual([]); // retry not due yet (1 h)
    clock.set(REAL - 9 * DAY + 2 * 3_600_000);
    expect((await manager.tick()).renewed).toEqual(['initech/aws_kms']);

    // a process that stops between issuing and activating leaves a pending certificate: the scheduler revokes it
    const crashing = createKeystoreCertManager({
      store,
      vault: createVaultClient({ address: f.url, auth: { method: 'token', token: f.token } }),
      kek,
      clock,
      tester: () => Promise.reject(new Error('process stopped')),
    });
    await expect(crashing.rotate('globex', 'aws_kms')).rejects.toThrow('process stopped');
    const pending = manager.connection('globex', 'aws_kms').certificates.find((c) => c.status === 'pending')!;
    expect(pending.hasPrivateKey).toBe(true);
    expect((await manager.tick()).renewed).toEqual([]); // not abandoned yet
    clock.set(REAL - 9 * DAY + 3 * 3_600_000 + 60_000);
    expect((await manager.tick()).errors).toEqual([]);
    const abandoned = manager.connection('globex', 'aws_kms').certificates.find((c) => c.id === pending.id)!;
    expect(abandoned).toMatchObject({ status: 'failed', hasPrivateKey: false, error: 'abandoned before activation' });
    expect(abandoned.revokedAt).not.toBeNull();
  });

  it('after the grace period the old certificates are revoked: on the CRL, refused by the TLS server', async () => {
    clock.set(REAL - 2 * DAY + 60_000); // 7 days after the first rotations, not yet after initech/aws_kms's
    const s1 = await manager.tick();
    expect(s1.revokedAfterGrace).toHaveLength(5);
    clock.set(REAL - DAY);
    const s2 = await manager.tick();
    expect(s2.revokedAfterGrace).toEqual([firstCreds.get('initech/aws_kms')!.serialNumber]);

    const crlRes = await fetch(`${f.url}/v1/pki/crl`);
    const crlDer = new Uint8Array(await crlRes.arrayBuffer());
    const crl = opensslCrlVerify(crlDer, f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    const listed = [...crl.go.entries.keys()];
    for (const c of firstCreds.values()) {
      expect(listed).toContain(new X509Certificate(c.certificatePem).serialNumber.toLowerCase().replace(/^0+/, ''));
    }
    for (const t of TENANTS) {
      for (const k of ['thales_luna', 'aws_kms']) {
        const old = manager
          .connection(t, k)
          .certificates.find((c) => c.serialNumber === firstCreds.get(key(t, k))!.serialNumber)!;
        expect(old.status).toBe('revoked');
        expect(old.hasPrivateKey).toBe(false);
      }
    }

    // the keystore endpoint now checks the CRLs of the chain: old certificates stop working, new ones work
    const interCrl = await (await fetch(`${f.url}/v1/pki/crl/pem`)).text();
    const rootCrlDer = new Uint8Array(await (await fetch(`${f.url}/crl/${f.rootCaId}.crl`)).arrayBuffer());
    const rootCrlPem = `-----BEGIN X509 CRL-----\n${Buffer.from(rootCrlDer)
      .toString('base64')
      .replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;
    thales.trust([rootPem], [interCrl, rootCrlPem]);
    const target = { endpoints: [thales.endpoint], serverCaPem: srv.caPem };
    const old = firstCreds.get('globex/thales_luna')!;
    const refused = await mtlsHandshake(thales.endpoint, target, {
      certificatePem: old.certificatePem,
      chainPems: old.caChain.slice(0, -1),
      privateKeyPem: old.privateKeyPem,
    });
    expect(refused.ok).toBe(false);
    // why: openssl, with the same CRLs, says revoked (and accepts the old certificate without them)
    const check = (crlPems?: string[]) =>
      opensslVerify({ leafPem: old.certificatePem, chainPems: old.caChain.slice(0, -1), rootPem, crlPems });
    expect(check().ok).toBe(true);
    expect(check([interCrl, rootCrlPem]).output).toMatch(/certificate revoked/);
    const current = await manager.credentials('globex', 'thales_luna');
    try {
      const ok = await mtlsHandshake(thales.endpoint, target, {
        certificatePem: current.certificatePem,
        chainPems: current.caChain.slice(0, -1),
        privateKeyPem: current.privateKeyPem,
      });
      expect(ok, ok.error).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      const v = opensslVerify({
        leafPem: current.certificatePem,
        chainPems: current.caChain.slice(0, -1),
        rootPem,
        crlPems: [interCrl, rootCrlPem],
      });
      expect(v.ok, v.output).toBe(true);
    } finally {
      current.privateKeyPem.fill(0);
    }
  });

  it('disconnect revokes every certificate of the keystore and deletes the key material', async () => {
    const conn = store.connection('acme-corp-12345', 'thales_luna')!;
    const rows = store.certificatesOf(conn.id);
    const sealed = rows.map((r) => r.encryptedPrivateKey).filter((x): x is string => !!x);
    expect(sealed.length).toBe(1);
    const serial = active('acme-corp-12345', 'thales_luna').serialNumber;

    const r = await manager.disconnect('acme-corp-12345', 'thales_luna');
    expect(r.revoked).toEqual([serial]);
    expect(store.connection('acme-corp-12345', 'thales_luna')).toBeUndefined();
    expect(store.certificatesOf(conn.id)).toEqual([]);
    expect(store.tenantKey('acme-corp-12345')).toBeTruthy(); // still used by its aws_kms keystore
    await expect(manager.credentials('acme-corp-12345', 'thales_luna')).rejects.toMatchObject({
      code: 'keystore.not_connected',
    });

    await manager.disconnect('acme-corp-12345', 'aws_kms');
    expect(store.tenantKey('acme-corp-12345')).toBeUndefined(); // the tenant's data key is destroyed too

    // revoked at the PKI: on the CRL (checked by openssl, GnuTLS and Go)
    const crlDer = new Uint8Array(await (await fetch(`${f.url}/v1/pki/crl`)).arrayBuffer());
    const crl = opensslCrlVerify(crlDer, f.intermediatePem);
    expect(crl.ok, crl.text).toBe(true);
    expect([...crl.go.entries.keys()]).toContain(serial.replace(/:/g, '').replace(/^0+/, ''));
    // no copy of the sealed key left in the database file or its WAL
    for (const file of [store.path, `${store.path}-wal`]) {
      if (!existsSync(file)) continue;
      const bytes = readFileSync(file).toString('latin1');
      for (const s of sealed) expect(bytes.includes(s.slice(0, 40))).toBe(false);
    }
  });

  it('records every step in a hash chain without key or certificate bodies', () => {
    const events = store.events(1000);
    const actions = new Set(events.map((e) => e.action));
    for (const a of [
      'keystore.connected',
      'keystore.tenant_key_created',
      'keystore_cert.issued',
      'keystore_cert.tested',
      'keystore_cert.activated',
      'keystore_cert.rotation_started',
      'keystore_cert.test_failed',
      'keystore_cert.rotation_failed',
      'keystore_cert.rotated',
      'keystore_cert.revoked',
      'keystore_cert.key_wiped',
      'keystore.disconnected',
      'keystore.tenant_key_destroyed',
    ]) {
      expect(actions, a).toContain(a);
    }
    for (const e of events) expect(e.details).not.toMatch(/BEGIN|PRIVATE KEY/);
    expect(store.verifyEvents()).toMatchObject({ ok: true });
  });
});
