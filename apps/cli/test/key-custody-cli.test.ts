// Key custody through the real `pkim` CLI: CAs created with --backend pkcs11 (SoftHSM2 via PKIM_PKCS11_*) and
// --backend kmip (PyKMIP via PKIM_KMIP_* with the CA / client certificate / key in files), then `pkim cert sign`
// of an openssl CSR, verified by openssl. A backend asked for but not configured fails in one line, naming
// the variables to set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runPkim } from '../../../tests/support/cli-runner';
import { createSoftHsmToken, type SoftHsmToken } from '../../../tests/support/softhsm';
import { startPyKmip, type PyKmipServer } from '../../../tests/support/pykmip';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe('pkim CLI with CA keys in a PKCS#11 token and in a KMIP server', () => {
  const tmp = tempDir('pkim-kc-cli-');
  let hsm: SoftHsmToken;
  let kmip: PyKmipServer;
  const pkcs11Env: Record<string, string> = {};
  const kmipEnv: Record<string, string> = {};

  beforeAll(async () => {
    [hsm, kmip] = await Promise.all([createSoftHsmToken({ label: 'pkim-cli' }), startPyKmip()]);
    const pinFile = join(tmp.dir, 'hsm.pin');
    writeFileSync(pinFile, hsm.pin, { mode: 0o600 });
    // SOFTHSM2_CONF is in process.env (set by createSoftHsmToken) and reaches the CLI child processes
    Object.assign(pkcs11Env, {
      PKIM_PKCS11_MODULE: hsm.modulePath,
      PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
      PKIM_PKCS11_PIN_FILE: pinFile,
    });
    const creds = join(tmp.dir, 'kmip');
    mkdirSync(creds);
    for (const [f, pem] of [
      ['ca.pem', kmip.caPem],
      ['client.pem', kmip.clientCertPem],
      ['client.key', kmip.clientKeyPem],
    ] as const) {
      writeFileSync(join(creds, f), pem, { mode: 0o600 });
    }
    Object.assign(kmipEnv, {
      PKIM_KMIP_URL: kmip.url,
      PKIM_KMIP_CA: join(creds, 'ca.pem'),
      PKIM_KMIP_CLIENT_CERT: join(creds, 'client.pem'),
      PKIM_KMIP_CLIENT_KEY: join(creds, 'client.key'),
    });
  });

  afterAll(async () => {
    await kmip?.stop();
    await hsm?.cleanup();
    tmp.cleanup();
  });

  /** root + issuing CA on `backend`, then `cert sign` of an openssl CSR; returns what openssl needs. */
  function hierarchy(backend: 'pkcs11' | 'kmip', env: Record<string, string>, keyTypes: [string, string]) {
    const dataDir = join(tmp.dir, `data-${backend}`);
    const pkim = (...args: string[]) => runPkim(args, { dataDir, env });
    const root = pkim(
      'ca',
      'create',
      '--name',
      `${backend}-root`,
      '--subject',
      `CN=${backend} Root CA,O=PKI Manager Tests`,
      '--key-type',
      keyTypes[0],
      '--backend',
      backend,
      '--json',
    );
    expect(root.code, root.stderr).toBe(0);
    const int = pkim(
      'ca',
      'create',
      '--name',
      `${backend}-issuing`,
      '--parent',
      `${backend}-root`,
      '--subject',
      `CN=${backend} Issuing CA,O=PKI Manager Tests`,
      '--key-type',
      keyTypes[1],
      '--backend',
      backend,
      '--json',
    );
    expect(int.code, int.stderr).toBe(0);
    for (const r of [root, int]) {
      expect(r.json().keyBackend).toBe(backend);
      expect(r.json().keyUri.startsWith(`${backend}:`)).toBe(true);
    }
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: `/CN=${backend}.example.com`,
      sans: [`DNS:${backend}.example.com`],
    });
    writeFileSync(join(tmp.dir, `${backend}.csr`), csrPem);
    const signed = pkim(
      'cert',
      'sign',
      '--ca',
      `${backend}-issuing`,
      '--csr',
      join(tmp.dir, `${backend}.csr`),
      '--profile',
      'tls-server',
      '--out',
      join(tmp.dir, `${backend}.pem`),
      '--json',
    );
    expect(signed.code, signed.stderr).toBe(0);
    // no key blob of these CAs in the database (only the key-encryption-key check value)
    const db = new Database(join(dataDir, 'pkim.db'), { readonly: true });
    try {
      const ids = (db.prepare('select id from key_blobs').all() as { id: string }[]).map((r) => r.id);
      expect(ids.filter((id) => id !== 'kek-check')).toEqual([]);
    } finally {
      db.close();
    }
    return {
      leafPem: readFileSync(join(tmp.dir, `${backend}.pem`), 'utf8'),
      rootPem: root.json().certificatePem as string,
      intPem: int.json().certificatePem as string,
    };
  }

  it('pkim ca create --backend pkcs11 (SoftHSM2 from PKIM_PKCS11_*), then cert sign; openssl verifies it', () => {
    const h = hierarchy('pkcs11', pkcs11Env, ['ec-p384', 'ec-p256']);
    const v = opensslVerify({ leafPem: h.leafPem, chainPems: [h.intPem], rootPem: h.rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
  });

  it('pkim ca create --backend kmip (PyKMIP, PKIM_KMIP_* credential files), cert sign; openssl verifies it', () => {
    const h = hierarchy('kmip', kmipEnv, ['rsa-2048', 'rsa-2048']);
    const v = opensslVerify({ leafPem: h.leafPem, chainPems: [h.intPem], rootPem: h.rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
  });

  it('a wrong PKCS#11 PIN: exit 6, one line kms.auth_failed naming the token and the setting the PIN came from', () => {
    const dataDir = join(tmp.dir, 'data-wrong-pin');
    const wrongPinFile = join(tmp.dir, 'wrong.pin');
    writeFileSync(wrongPinFile, `${hsm.pin}9\n`, { mode: 0o600 });
    const create = (env: Record<string, string>) =>
      runPkim(
        [
          'ca',
          'create',
          '--name',
          'wrong-pin',
          '--subject',
          'CN=Wrong PIN',
          '--key-type',
          'ec-p256',
          '--backend',
          'pkcs11',
        ],
        { dataDir, env: { ...pkcs11Env, ...env } },
      );
    const viaFile = create({ PKIM_PKCS11_PIN_FILE: wrongPinFile });
    const viaVar = create({ PKIM_PKCS11_PIN_FILE: '', PKIM_PKCS11_PIN: `${hsm.pin}9` });
    for (const [r, setting] of [
      [viaFile, `PKIM_PKCS11_PIN_FILE ('${wrongPinFile}')`],
      [viaVar, 'PKIM_PKCS11_PIN'],
    ] as const) {
      expect(r.code, r.stderr).toBe(6);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: kms\.auth_failed: PKCS#11 login to token 'pkim-cli' refused: wrong PIN/);
      expect(lines[0]).toContain(setting);
      expect(lines[0]).not.toContain(`${hsm.pin}9`);
    }
    expect(runPkim(['ca', 'list', '--json'], { dataDir, env: pkcs11Env }).json()).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('--backend pkcs11 without configuration: exit ≠ 0, one line kms.config_invalid naming variables, no CA', () => {
    const dataDir = join(tmp.dir, 'data-unconfigured');
    // the PKIM_PKCS11_* of this process (if any) must not leak in: blank them
    const env = {
      PKIM_PKCS11_MODULE: '',
      PKIM_PKCS11_TOKEN_LABEL: '',
      PKIM_PKCS11_PIN: '',
      PKIM_PKCS11_PIN_FILE: '',
      PKIM_KMIP_URL: '',
    };
    const pkim = (...args: string[]) => runPkim(args, { dataDir, env });
    const r = pkim(
      'ca',
      'create',
      '--name',
      'nope',
      '--subject',
      'CN=Nope',
      '--key-type',
      'ec-p256',
      '--backend',
      'pkcs11',
    );
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: kms\.config_invalid: .*backend pkcs11 is not configured/);
    expect(lines[0]).toMatch(/PKIM_PKCS11_MODULE/);
    expect(lines[0]).toMatch(/PKIM_PKCS11_PIN/);
    const list = pkim('ca', 'list', '--json');
    expect(list.json()).toEqual({ items: [], nextCursor: null });
    // the same for kmip
    const k = pkim(
      'ca',
      'create',
      '--name',
      'nope',
      '--subject',
      'CN=Nope',
      '--key-type',
      'rsa-2048',
      '--backend',
      'kmip',
    );
    expect(k.code).not.toBe(0);
    expect(k.stderr.trim().split('\n')).toHaveLength(1);
    expect(k.stderr).toMatch(/^error: kms\.config_invalid: .*PKIM_KMIP_URL/);
  });
});
