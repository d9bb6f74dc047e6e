/**
 * The KMIP backend over binary TTLV + mutual TLS against a real PyKMIP server (Debian python3-pykmip).
 * PyKMIP holds RSA keys only; EC paths are covered by the Cosmian fixtures (kmip-json.test.ts).
 */
import { execFile } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, SubjectPublicKeyInfo, TBSCertificate } from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeClientCert, startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import type { KeyBackendEvents } from '../src/key-backend';
import {
  createKmipBackend,
  formatKmipKeyUri,
  parseKmipKeyUri,
  type KmipBackend,
  type KmipBackendOptions,
} from '../src/kmip';
import { defineBackendConformance, expectPkiError, nodeVerify } from './support/backend-conformance';
import { FIXTURE_TBS_HEX } from './support/cosmian-responder';

type Ev = Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0];

let srv: PyKmipServer;
let foreign: { certPem: string; keyPem: string; caPem: string };

beforeAll(async () => {
  srv = await startPyKmip();
  // a client certificate from a CA the server does not trust
  foreign = await makeClientCert(srv.dir, 'intruder', { cn: 'pki-client' });
});

afterAll(async () => {
  await srv?.stop();
});

function opts(extra: Partial<KmipBackendOptions> = {}): KmipBackendOptions {
  return {
    url: srv.url,
    caPem: srv.caPem,
    clientCertPem: srv.clientCertPem,
    clientKeyPem: srv.clientKeyPem,
    retryBaseMs: 20,
    ...extra,
  };
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** The fixture TBSCertificate (self-signed root, sha256WithRSAEncryption) re-keyed to `spki`. */
function tbsFor(spki: Uint8Array): Buffer {
  const tbs = AsnConvert.parse(Buffer.from(FIXTURE_TBS_HEX, 'hex'), TBSCertificate);
  tbs.subjectPublicKeyInfo = AsnConvert.parse(Buffer.from(spki), SubjectPublicKeyInfo);
  return Buffer.from(AsnConvert.serialize(tbs));
}

function assemble(tbsDer: Buffer, sig: Uint8Array): Buffer {
  const tbs = AsnConvert.parse(tbsDer, TBSCertificate);
  const der = Buffer.from(
    AsnConvert.serialize(
      new Certificate({
        tbsCertificate: tbs,
        signatureAlgorithm: tbs.signature,
        signatureValue: new Uint8Array(sig).buffer,
      }),
    ),
  );
  expect(der.includes(tbsDer)).toBe(true);
  return der;
}

const pem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;

describe('KMIP backend over binary TTLV against PyKMIP', () => {
  let b: KmipBackend;
  const events: Ev[] = [];
  beforeAll(() => {
    b = createKmipBackend(opts({ events: { onOperation: (e) => events.push(e) } }));
  });
  afterAll(async () => {
    await b?.close();
  });

  it('answers Query (connection test) with the PyKMIP vendor identification', async () => {
    const info = await b.client.query();
    expect(info.vendor).toMatch(/PyKMIP/);
    expect(info.operations).toEqual(
      expect.arrayContaining(['CreateKeyPair', 'Get', 'Sign', 'Activate', 'Revoke', 'Destroy']),
    );
    const h = await b.health();
    expect(h.ok).toBe(true);
    expect(h.detail).toMatch(/PyKMIP/);
  });

  it('creates an RSA-2048 pair (activated), returns its SPKI, signs a TBSCertificate openssl verifies', async () => {
    const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'pykmip root' });
    const parsed = parseKmipKeyUri(ref.uri)!;
    expect(parsed.server).toBe(`127.0.0.1:${srv.port}`);
    expect(parsed.publicKeyUid).toBeDefined();
    const key = createPublicKey({ key: Buffer.from(ref.publicKey), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(events.filter((e) => e.operation === 'activate' && e.outcome === 'success')).toHaveLength(2);

    const tbs = tbsFor(ref.publicKey);
    const sig = await b.sign(ref.uri, 'rsa-2048', tbs);
    expect(sig.length).toBe(256);
    expect(nodeVerify('rsa-2048', ref.publicKey, tbs, sig)).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'pkim-pykmip-cert-'));
    try {
      await writeFile(join(dir, 'root.pem'), pem(assemble(tbs, sig)));
      const ok = await run('openssl', [
        'verify',
        '-check_ss_sig',
        '-CAfile',
        join(dir, 'root.pem'),
        join(dir, 'root.pem'),
      ]);
      expect(ok.code, ok.out).toBe(0);
      expect(ok.out).toMatch(/: OK/);
      const other = tbsFor(ref.publicKey);
      other[other.length - 1]! ^= 1;
      await writeFile(join(dir, 'bad.pem'), pem(assemble(other, sig)));
      const bad = await run('openssl', [
        'verify',
        '-check_ss_sig',
        '-CAfile',
        join(dir, 'bad.pem'),
        join(dir, 'bad.pem'),
      ]);
      expect(bad.code).not.toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await b.destroy(ref.uri);
    }
  });

  it('reports kms.key_not_found for Sign after Destroy', async () => {
    const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'short lived' });
    await b.destroy(ref.uri);
    await expectPkiError(b.sign(ref.uri, 'rsa-2048', Buffer.from('x')), 'kms.key_not_found', false);
  });

  it('reports kms.unsupported for EC key pairs (PyKMIP holds RSA keys only)', async () => {
    await expectPkiError(b.generateKey({ keyType: 'ec-p256' }), 'kms.unsupported', false);
    await expectPkiError(b.generateKey({ keyType: 'ed25519' }), 'kms.unsupported', false);
  });

  it('refuses Certify on a standard KMIP server with kms.unsupported', async () => {
    const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'no certify' });
    try {
      await expectPkiError(b.certify({ keyUri: ref.uri, subject: { cn: 'x' } }), 'kms.unsupported', false);
    } finally {
      await b.destroy(ref.uri);
    }
  });

  // signatures per second are a benchmark's (npm run bench:keys, the KMIP row), not a test's
  it('signs one after another and 4 in flight on one key: every signature verifies for its own data', async () => {
    const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'throughput' });
    try {
      const input = (i: number) => Buffer.from(`throughput probe #${i}`);
      const sequential: Uint8Array[] = [];
      for (let i = 0; i < 4; i++) sequential.push(await b.sign(ref.uri, 'rsa-2048', input(i)));
      const inFlight = await Promise.all([4, 5, 6, 7].map((i) => b.sign(ref.uri, 'rsa-2048', input(i))));
      [...sequential, ...inFlight].forEach((sig, i) => {
        expect(nodeVerify('rsa-2048', ref.publicKey, input(i), sig), `signature #${i}`).toBe(true);
      });
      expect(nodeVerify('rsa-2048', ref.publicKey, input(5), inFlight[0]!)).toBe(false);
    } finally {
      await b.destroy(ref.uri);
    }
  });

  it('reports kms.unavailable after 3 attempts when the port is closed', async () => {
    const port = await freePort();
    const evs: Ev[] = [];
    const down = createKmipBackend(
      opts({ url: `kmip://127.0.0.1:${port}`, events: { onOperation: (e) => evs.push(e) } }),
    );
    try {
      await expectPkiError(down.generateKey({ keyType: 'rsa-2048' }), 'kms.unavailable', true);
      expect(evs.map((e) => [e.attempt, e.error?.code])).toEqual([
        [1, 'kms.unavailable'],
        [2, 'kms.unavailable'],
        [3, 'kms.unavailable'],
      ]);
    } finally {
      await down.close();
    }
  });

  it('reports kms.auth_failed (not retried) for a client certificate from another CA', async () => {
    const evs: Ev[] = [];
    const intruder = createKmipBackend(
      opts({
        clientCertPem: foreign.certPem,
        clientKeyPem: foreign.keyPem,
        events: { onOperation: (e) => evs.push(e) },
      }),
    );
    try {
      const err = await expectPkiError(intruder.client.query(), 'kms.auth_failed', false);
      expect(err.message).toMatch(/TLS/);
      expect(evs).toHaveLength(1);
    } finally {
      await intruder.close();
    }
  });

  it('reports kms.auth_failed when the server certificate is not signed by the configured CA', async () => {
    const wrongTrust = createKmipBackend(opts({ caPem: foreign.caPem }));
    try {
      await expectPkiError(wrongTrust.client.query(), 'kms.auth_failed', false);
    } finally {
      await wrongTrust.close();
    }
  });
});

defineBackendConformance({
  name: 'kmip (PyKMIP, binary TTLV over TLS)',
  keyTypes: ['rsa-2048'],
  capabilities: ['destroy', 'importKey'],
  create: async () => createKmipBackend(opts()),
  makeUnavailable: async () => createKmipBackend(opts({ url: `kmip://127.0.0.1:${await freePort()}` })),
  makeWrongCredentials: async () =>
    createKmipBackend(opts({ clientCertPem: foreign.certPem, clientKeyPem: foreign.keyPem })),
  // PyKMIP UIDs are small integers: name objects that do not exist
  unknownKeyUri: (existing) => {
    const k = parseKmipKeyUri(existing.uri)!;
    return formatKmipKeyUri({ privateKeyUid: '999001', publicKeyUid: '999002', server: k.server });
  },
});
