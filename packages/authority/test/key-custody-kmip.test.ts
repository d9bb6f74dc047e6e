// Key custody in a KMIP server (PyKMIP over mutual TLS, binary TTLV): a root and an intermediate CA whose
// RSA-2048 keys live in the KMS (PyKMIP has no EC), configured through PKIM_KMIP_* exactly as the server/CLI
// are. Leaves and CRLs are checked by openssl. The CA private keys are read back from PyKMIP's own database
// and searched for (raw, hex, base64) in every file of PKI Manager's data directory. KMS outages during CA
// creation: connection refused → kms.unavailable (retried), silence → kms.timeout; no CA row either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { parseCertificate } from '@pkim/core';
import { parseKmipKeyUri } from '@pkim/keys';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { freePort, startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, eventually, filesUnder } from '../../../tests/support/test-kit';
import { internalsOf } from '@pkim/authority/internals';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const silent = pino({ level: 'silent' });

/** The base64 characters that encode `m` whatever precedes it, when it starts `shift` bytes into a 3-byte group. */
function base64Needles(m: Buffer): string[] {
  return [0, 1, 2].flatMap((shift) => {
    const std = Buffer.concat([Buffer.alloc(shift), m]).toString('base64');
    const needle = std.slice(Math.ceil((shift * 8) / 6), Math.floor((shift + m.length) / 3) * 4);
    return [needle, needle.replace(/\+/g, '-').replace(/\//g, '_')];
  });
}

/**
 * The secrets of an RSA private key (PKCS#8 DER, d, p, q, dp, dq, qi) in raw, hex (both cases) and base64
 * (standard and url-safe, every alignment) forms, and a search of files for any of them.
 */
function secretNeedles(pkcs8: Buffer): { what: string; bytes: Buffer }[] {
  const jwk = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const out: { what: string; bytes: Buffer }[] = [{ what: 'pkcs8', bytes: pkcs8 }];
  for (const k of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const)
    out.push({ what: k, bytes: Buffer.from(jwk[k]!, 'base64url') });
  return out;
}
function filesHolding(dir: string, secrets: { what: string; bytes: Buffer }[]): string[] {
  const hits: string[] = [];
  for (const f of filesUnder(dir)) {
    const bytes = readFileSync(f);
    // line breaks (PEM), blanks and colons (openssl -text dumps) removed, so wrapped encodings match too
    const compact = bytes.toString('latin1').replace(/[\s:]/g, '');
    const lower = compact.toLowerCase();
    for (const s of secrets) {
      if (
        bytes.includes(s.bytes) ||
        lower.includes(s.bytes.toString('hex')) ||
        base64Needles(s.bytes).some((n) => compact.includes(n))
      ) {
        hits.push(`${f}: ${s.what}`);
      }
    }
  }
  return hits;
}

/** The PKCS#8 value PyKMIP stores for a managed object (its own SQLite database in the server dir). */
function pykmipKeyValue(server: PyKmipServer, uid: string): Buffer {
  const db = new Database(join(server.dir, 'pykmip.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare('select value, class_type as classType from managed_objects where uid = ?')
      .get(Number(uid)) as { value: Buffer; classType: string } | undefined;
    if (!row) throw new Error(`PyKMIP has no managed object ${uid}`);
    expect(row.classType).toBe('PrivateKey');
    return Buffer.from(row.value);
  } finally {
    db.close();
  }
}

describe('CA keys in a KMIP server (PyKMIP, mutual TLS), configured from PKIM_KMIP_*', () => {
  let server: PyKmipServer;
  let authority: Authority;
  const tmp = tempDir('pkim-kc-kmip-');
  const dataDir = join(tmp.dir, 'data');
  const credentials: Record<string, string> = {};
  let root: { id: string; pem: string; keyUri: string };
  let issuing: { id: string; pem: string; keyUri: string };
  const others: Authority[] = [];

  beforeAll(async () => {
    server = await startPyKmip();
    const dir = join(tmp.dir, 'kmip-credentials');
    mkdirSync(dir);
    for (const [name, pem] of [
      ['ca.pem', server.caPem],
      ['client.pem', server.clientCertPem],
      ['client.key', server.clientKeyPem],
    ] as const) {
      writeFileSync(join(dir, name), pem, { mode: 0o600 });
    }
    Object.assign(credentials, {
      PKIM_KMIP_CA: join(dir, 'ca.pem'),
      PKIM_KMIP_CLIENT_CERT: join(dir, 'client.pem'),
      PKIM_KMIP_CLIENT_KEY: join(dir, 'client.key'),
    });
    authority = await createAuthority({
      dataDir,
      logger: silent,
      publicBaseUrl: 'http://127.0.0.1:9',
      env: { PKIM_KMIP_URL: server.url, ...credentials, PKIM_KMIP_TIMEOUT_MS: '20000' },
    });
    const r = await authority.cas.create(
      { name: 'KMIP Root', subject: 'CN=KMIP Root CA,O=PKI Manager Tests', keyType: 'rsa-2048', backend: 'kmip' },
      admin,
    );
    root = { id: r.ca.id, pem: r.certificatePem!, keyUri: r.ca.keyUri };
    const i = await authority.cas.create(
      {
        name: 'KMIP Issuing',
        subject: 'CN=KMIP Issuing CA,O=PKI Manager Tests',
        keyType: 'rsa-2048',
        backend: 'kmip',
        parentId: root.id,
      },
      admin,
    );
    issuing = { id: i.ca.id, pem: i.certificatePem!, keyUri: i.ca.keyUri };
  });

  afterAll(async () => {
    for (const a of others) await a.close().catch(() => undefined);
    await authority?.close();
    await server?.stop();
    tmp.cleanup();
  });

  it('stores kmip: key URIs and keyBackend on the CA rows; the chain verifies with openssl', async () => {
    for (const c of [root, issuing]) {
      const row = (await authority.cas.get(c.id)).ca;
      expect(row.keyBackend).toBe('kmip');
      expect(row.keyUri).toMatch(new RegExp(`^kmip:\\d+@127\\.0\\.0\\.1:${server.port}\\?pub=\\d+$`));
      const spki = Buffer.from(await internalsOf(authority).keys.getPublicKey(row.keyUri));
      expect(Buffer.from(parseCertificate(c.pem).publicKey).equals(spki)).toBe(true);
    }
    const v = opensslVerify({ leafPem: issuing.pem, chainPems: [], rootPem: root.pem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
  });

  it('issues a leaf from an openssl CSR signed by the KMS-held issuing key; openssl verifies the chain', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=kms.example.com',
      sans: ['DNS:kms.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: issuing.id, csrPem, profile: 'tls-server' }, admin);
    const o = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [issuing.pem],
      rootPem: root.pem,
      purpose: 'sslserver',
    });
    expect(o.ok, o.output).toBe(true);
    const wrong = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [],
      rootPem: root.pem,
      purpose: 'sslserver',
    });
    expect(wrong.ok).toBe(false); // without the intermediate it does not verify: the check can fail
  });

  it('signs CRLs with the KMS-held keys that openssl crl -verify accepts', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'rsa-2048',
      subject: '/CN=revoked.kms.example.com',
      sans: ['DNS:revoked.kms.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: issuing.id, csrPem, profile: 'tls-server' }, admin);
    await authority.certificates.revoke(issued.certificate.serialHex, 'superseded', admin);
    const crl = await authority.crl.generate(issuing.id, admin);
    const v = opensslCrlVerify(crl.der, issuing.pem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase().replace(/:/g, '')).toContain(issued.certificate.serialHex.toLowerCase());
    expect(opensslCrlVerify(crl.der, root.pem).ok).toBe(false);
    const rootCrl = await authority.crl.generate(root.id, admin);
    const rv = opensslCrlVerify(rootCrl.der, root.pem);
    expect(rv.ok, rv.text).toBe(true);
  });

  it('never lets the CA private keys reach the database or data dir (checked against the PyKMIP keys)', async () => {
    const secrets = [root, issuing].flatMap((c) => {
      const uid = parseKmipKeyUri(c.keyUri)!.privateKeyUid;
      const pkcs8 = pykmipKeyValue(server, uid);
      // this is the CA's key: its public half is the one in the CA certificate
      const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({
        type: 'spki',
        format: 'der',
      });
      expect(Buffer.from(parseCertificate(c.pem).publicKey).equals(spki)).toBe(true);
      return secretNeedles(pkcs8);
    });
    expect(secrets.length).toBe(14);

    const db = new Database(join(dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
    try {
      expect((db.prepare('select count(*) as n from key_blobs').get() as { n: number }).n).toBe(0);
      const rows = db
        .prepare('select key_uri as keyUri, key_backend as keyBackend from certificate_authorities')
        .all() as { keyUri: string; keyBackend: string }[];
      expect(rows.map((r) => r.keyBackend)).toEqual(['kmip', 'kmip']);
    } finally {
      db.close();
    }
    const files = filesUnder(dataDir).map((f) => f.slice(dataDir.length + 1));
    expect(files).toEqual(expect.arrayContaining(['pkim.db', 'pkim.db-wal']));
    expect(filesHolding(dataDir, secrets)).toEqual([]);

    // positive controls: the search finds the key in PyKMIP's database and in PEM / hex copies of it
    expect(filesHolding(server.dir, secrets).some((h) => h.includes('pykmip.db: pkcs8'))).toBe(true);
    const control = join(tmp.dir, 'control');
    mkdirSync(control);
    const pkcs8 = secrets[0]!.bytes;
    writeFileSync(
      join(control, 'key.pem'),
      createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs1', format: 'pem' }),
    );
    writeFileSync(join(control, 'key.hex'), `xx${secrets[1]!.bytes.toString('hex').toUpperCase()}`);
    writeFileSync(join(control, 'key.b64'), `x${secrets[2]!.bytes.toString('base64url')}`);
    const hits = filesHolding(control, secrets).map((h) => h.slice(control.length + 1));
    expect(hits).toEqual(expect.arrayContaining(['key.pem: d', 'key.hex: d', 'key.b64: p']));
  });

  it('KMS unreachable in ca.create: kms.unavailable (retryable) after retries, failures audited, no CA', async () => {
    const port = await freePort(); // closed: nothing listens
    const a = await createAuthority({
      dataDir: join(tmp.dir, 'down'),
      logger: silent,
      env: {
        PKIM_KMIP_URL: `kmip://127.0.0.1:${port}`,
        ...credentials,
        // a timeout far above the bound below: refused connections fail at once, never after a timeout (was 2 s
        // against a 3 s bound — too close on a loaded machine)
        PKIM_KMIP_TIMEOUT_MS: '20000',
        PKIM_KMIP_RETRIES: '3',
        PKIM_KMIP_RETRY_BASE_MS: '10',
      },
    });
    others.push(a);
    const t0 = Date.now();
    const err = await expectPkiError(
      a.cas.create({ name: 'down-root', subject: 'CN=Down Root', keyType: 'rsa-2048', backend: 'kmip' }, admin),
      'kms.unavailable',
    );
    expect(Date.now() - t0).toBeLessThan(15_000); // one 20 s timeout would pass it
    expect(err.retryable).toBe(true);
    expect(await internalsOf(a).store.cas.list()).toEqual([]);
    const failed = await a.audit.list({ action: 'ca.create_failed', limit: 5 });
    expect(failed).toHaveLength(1);
    expect(failed[0]?.details).toMatchObject({ code: 'kms.unavailable', backend: 'kmip', name: 'down-root' });
    const attempts = await eventually(
      () => a.audit.list({ action: 'kms.create_key_pair_failed', limit: 10, order: 'asc' }),
      (l) => l.length >= 3,
    );
    expect(attempts.map((e) => e.details.attempt)).toEqual([1, 2, 3]);
    expect(
      attempts.every(
        (e) => e.outcome === 'failure' && e.details.code === 'kms.unavailable' && e.details.backend === 'kmip',
      ),
    ).toBe(true);
    expect(await a.audit.verify()).toMatchObject({ ok: true });
  });

  it('a KMS that never answers: kms.timeout within the configured per-attempt timeout', async () => {
    const sockets = new Set<net.Socket>();
    const silentServer = net.createServer((s) => {
      sockets.add(s); // accept, read nothing back: no TLS handshake, no answer
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => silentServer.listen(0, '127.0.0.1', r));
    const port = (silentServer.address() as net.AddressInfo).port;
    try {
      const a = await createAuthority({
        dataDir: join(tmp.dir, 'silent'),
        logger: silent,
        env: {
          PKIM_KMIP_URL: `kmip://127.0.0.1:${port}`,
          ...credentials,
          PKIM_KMIP_TIMEOUT_MS: '400',
          PKIM_KMIP_RETRIES: '2',
          PKIM_KMIP_RETRY_BASE_MS: '10',
        },
      });
      others.push(a);
      const t0 = Date.now();
      const err = await expectPkiError(
        a.cas.create({ name: 'silent-root', subject: 'CN=Silent Root', keyType: 'rsa-2048', backend: 'kmip' }, admin),
        'kms.timeout',
      );
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(2 * 400 - 50);
      // the 400 ms timeout is honoured (the 30 s default would take 60 s); wide, a loaded step can take seconds
      expect(elapsed).toBeLessThan(10_000);
      expect(err.retryable).toBe(true);
      expect(await internalsOf(a).store.cas.list()).toEqual([]);
      expect((await a.audit.list({ action: 'ca.create_failed', limit: 5 }))[0]?.details).toMatchObject({
        code: 'kms.timeout',
      });
      const attempts = await eventually(
        () => a.audit.list({ action: 'kms.create_key_pair_failed', limit: 10 }),
        (l) => l.length >= 2,
      );
      expect(attempts.map((e) => e.details.code)).toEqual(['kms.timeout', 'kms.timeout']);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silentServer.close(r));
    }
  });

  it('rejects a bad PKIM_KMIP_RETRIES at start-up with kms.config_invalid naming the variable', async () => {
    const err = await expectPkiError(
      createAuthority({
        dataDir: join(tmp.dir, 'bad-config'),
        logger: silent,
        env: { PKIM_KMIP_URL: server.url, ...credentials, PKIM_KMIP_RETRIES: 'many' },
      }),
      'kms.config_invalid',
    );
    expect(err.message).toMatch(/PKIM_KMIP_RETRIES/);
  });
});
