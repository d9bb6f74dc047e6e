// Key custody on a PKCS#11 HSM (SoftHSM2): root and intermediate CAs whose keys are generated and used on the
// token (EC P-384/P-256 and RSA-2048), configured through PKIM_PKCS11_* exactly as the server/CLI are. Leaves
// from openssl CSRs and CRLs signed on the token are checked by openssl (certtool and Go for the EC chain);
// the private keys are non-extractable on the token and nothing resembling a private key reaches the store.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as graphene from 'graphene-pk11';
import { pino } from 'pino';
import { parsePkcs11Uri } from '@pkim/keys';
import { parseCertificate } from '@pkim/core';
import { createAuthority, type Actor, type Authority } from '@pkim/authority';
import { createSoftHsmToken, withTokenSession, type SoftHsmToken } from '../../../tests/support/softhsm';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';
import { certtoolVerify, goVerify, opensslCrlVerify, opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError, eventually, filesUnder } from '../../../tests/support/test-kit';
import { internalsOf } from '@pkim/authority/internals';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const silent = pino({ level: 'silent' });

// PKCS#8 PrivateKeyInfo starts: version 0, then the algorithm; PKCS#1/SEC1 PEMs carry "PRIVATE KEY" too.
const PKCS8_MARKERS = [
  Buffer.from('020100300d06092a864886f70d0101010500', 'hex'), // v0 + rsaEncryption
  Buffer.from('020100301306072a8648ce3d0201', 'hex'), // v0 + id-ecPublicKey
];
/** The base64 characters that encode `m` whatever precedes it, when it starts `shift` bytes into a 3-byte group. */
function base64Needle(m: Buffer, shift: number): string {
  const enc = Buffer.concat([Buffer.alloc(shift), m]).toString('base64');
  return enc.slice(Math.ceil((shift * 8) / 6), Math.floor((shift + m.length) / 3) * 4);
}

/** Every file under `dir` that holds a PEM private key or a PKCS#8 structure (raw, hex or base64). */
function privateKeyTraces(dir: string): string[] {
  const hits: string[] = [];
  for (const f of filesUnder(dir)) {
    const bytes = readFileSync(f);
    const text = bytes.toString('latin1');
    const compact = text.replace(/[\s:]/g, ''); // wrapped base64 (PEM bodies), colon-separated hex dumps
    const found =
      text.includes('PRIVATE KEY-----') ||
      PKCS8_MARKERS.some((m) => bytes.includes(m) || compact.toLowerCase().includes(m.toString('hex'))) ||
      PKCS8_MARKERS.some((m) => [0, 1, 2].some((shift) => compact.includes(base64Needle(m, shift))));
    if (found) hits.push(f);
  }
  return hits;
}

describe('CA keys on a PKCS#11 token (SoftHSM2), configured from PKIM_PKCS11_*', () => {
  let hsm: SoftHsmToken;
  let authority: Authority;
  const tmp = tempDir('pkim-kc-pkcs11-');
  const dataDir = join(tmp.dir, 'data');
  let locked: { tokenLabel: string; pin: string };
  const cas: Record<'ecRoot' | 'ecInt' | 'rsaRoot' | 'rsaInt', { id: string; pem: string; keyUri: string }> =
    {} as never;

  beforeAll(async () => {
    hsm = await createSoftHsmToken({ label: 'pkim-custody' });
    // SoftHSM2 reads its tokens at C_Initialize: create the wrong-PIN test's token before any module use
    locked = await hsm.addToken({ label: 'pkim-custody-locked' });
    const pinFile = join(tmp.dir, 'pin');
    writeFileSync(pinFile, `${hsm.pin}\n`, { mode: 0o600 });
    authority = await createAuthority({
      dataDir,
      logger: silent,
      publicBaseUrl: 'http://127.0.0.1:9',
      env: {
        PKIM_PKCS11_MODULE: hsm.modulePath,
        PKIM_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
        PKIM_PKCS11_PIN_FILE: pinFile,
      },
    });
    const mk = async (name: string, keyType: 'ec-p384' | 'ec-p256' | 'rsa-2048', parentId?: string) => {
      const v = await authority.cas.create(
        { name, subject: `CN=${name},O=PKI Manager Tests,C=US`, keyType, backend: 'pkcs11', parentId },
        admin,
      );
      return { id: v.ca.id, pem: v.certificatePem!, keyUri: v.ca.keyUri };
    };
    cas.ecRoot = await mk('HSM EC Root', 'ec-p384');
    cas.ecInt = await mk('HSM EC Issuing', 'ec-p256', cas.ecRoot.id);
    cas.rsaRoot = await mk('HSM RSA Root', 'rsa-2048');
    cas.rsaInt = await mk('HSM RSA Issuing', 'rsa-2048', cas.rsaRoot.id);
  });

  afterAll(async () => {
    await authority?.close();
    await hsm?.cleanup();
    tmp.cleanup();
  });

  it('stores pkcs11: key URIs and keyBackend on the CA rows, and the certificates carry the token keys', async () => {
    for (const c of Object.values(cas)) {
      const row = (await authority.cas.get(c.id)).ca;
      expect(row.keyBackend).toBe('pkcs11');
      expect(row.keyUri).toMatch(/^pkcs11:token=pkim-custody;id=(%[0-9a-f]{2}){16};object=HSM%20/);
      expect(parsePkcs11Uri(row.keyUri).token).toBe(hsm.tokenLabel);
      const spki = Buffer.from(await internalsOf(authority).keys.getPublicKey(row.keyUri));
      expect(Buffer.from(parseCertificate(c.pem).publicKey).equals(spki)).toBe(true);
      const events = await authority.audit.list({ action: 'kms.key_created', target: row.keyUri, limit: 2 });
      expect(events[0]?.details).toMatchObject({ backend: 'pkcs11', caId: row.id });
    }
    const ri = opensslVerify({ leafPem: cas.ecInt.pem, chainPems: [], rootPem: cas.ecRoot.pem, purpose: 'any' });
    expect(ri.ok, ri.output).toBe(true);
    const rr = opensslVerify({ leafPem: cas.rsaInt.pem, chainPems: [], rootPem: cas.rsaRoot.pem, purpose: 'any' });
    expect(rr.ok, rr.output).toBe(true);
  });

  it('issues a TLS leaf from a CSR under an EC chain (P-384 root, P-256 CA); openssl, certtool, Go agree', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=hsm.example.com',
      sans: ['DNS:hsm.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: cas.ecInt.id, csrPem, profile: 'tls-server' }, admin);
    const o = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [cas.ecInt.pem],
      rootPem: cas.ecRoot.pem,
      purpose: 'sslserver',
    });
    expect(o.ok, o.output).toBe(true);
    const c = certtoolVerify({
      leafPem: issued.certificatePem,
      chainPems: [cas.ecInt.pem],
      rootPem: cas.ecRoot.pem,
      purpose: 'serverAuth',
    });
    expect(c.ok, c.output).toBe(true);
    const g = goVerify({
      leafPem: issued.certificatePem,
      intermediatesPems: [cas.ecInt.pem],
      rootPem: cas.ecRoot.pem,
      dnsName: 'hsm.example.com',
      keyUsage: 'serverAuth',
    });
    expect(g.ok, g.output).toBe(true);
    // the wrong root does not verify it (the check can fail)
    const wrong = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [cas.ecInt.pem],
      rootPem: cas.rsaRoot.pem,
      purpose: 'sslserver',
    });
    expect(wrong.ok).toBe(false);
  });

  it('issues an RSA leaf under the RSA-2048 chain that openssl accepts', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'rsa-2048',
      subject: '/CN=rsa.hsm.example.com',
      sans: ['DNS:rsa.hsm.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: cas.rsaInt.id, csrPem, profile: 'tls-server' }, admin);
    const o = opensslVerify({
      leafPem: issued.certificatePem,
      chainPems: [cas.rsaInt.pem],
      rootPem: cas.rsaRoot.pem,
      purpose: 'sslserver',
    });
    expect(o.ok, o.output).toBe(true);
  });

  it('signs CRLs on the token (issuing CA with a revoked leaf, a root) that openssl crl -verify accepts', async () => {
    const { csrPem } = opensslCsr({
      keyType: 'ec-p256',
      subject: '/CN=revoked.hsm.example.com',
      sans: ['DNS:revoked.hsm.example.com'],
    });
    const issued = await authority.issuance.issueFromCsr({ caId: cas.ecInt.id, csrPem, profile: 'tls-server' }, admin);
    await authority.certificates.revoke(issued.certificate.serialHex, 'keyCompromise', admin);
    const crl = await authority.crl.generate(cas.ecInt.id, admin);
    const v = opensslCrlVerify(crl.der, cas.ecInt.pem);
    expect(v.ok, v.text).toBe(true);
    expect(v.text.toLowerCase().replace(/:/g, '')).toContain(issued.certificate.serialHex.toLowerCase());
    expect(v.text).toMatch(/Key Compromise/);
    expect(opensslCrlVerify(crl.der, cas.rsaInt.pem).ok).toBe(false); // wrong issuer: the check can fail
    for (const c of [cas.ecRoot, cas.rsaRoot, cas.rsaInt]) {
      const r = opensslCrlVerify((await authority.crl.generate(c.id, admin)).der, c.pem);
      expect(r.ok, r.text).toBe(true);
    }
  });

  it('keeps private keys on the token: not extractable, sensitive; no key material in DB or data dir', async () => {
    withTokenSession(hsm, (session) => {
      for (const c of Object.values(cas)) {
        const found = session.find({
          class: graphene.ObjectClass.PRIVATE_KEY,
          id: Buffer.from(parsePkcs11Uri(c.keyUri).id!),
        });
        expect(found.length).toBe(1);
        const attrs = found.items(0).getAttribute({
          extractable: null,
          sensitive: null,
          neverExtractable: null,
          alwaysSensitive: null,
          token: null,
          private: null,
        });
        expect(attrs).toMatchObject({
          extractable: false,
          sensitive: true,
          neverExtractable: true,
          alwaysSensitive: true,
          token: true,
          private: true,
        });
      }
    });

    // the store holds no key blob at all (only HSM CAs exist here); the software backend was never asked for a key
    const db = new Database(join(dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
    try {
      expect((db.prepare('select count(*) as n from key_blobs').get() as { n: number }).n).toBe(0);
      const rows = db
        .prepare('select key_uri as keyUri, key_backend as keyBackend from certificate_authorities')
        .all() as { keyUri: string; keyBackend: string }[];
      expect(rows).toHaveLength(4);
      expect(rows.every((r) => r.keyBackend === 'pkcs11' && r.keyUri.startsWith('pkcs11:'))).toBe(true);
    } finally {
      db.close();
    }
    expect(filesUnder(dataDir).some((f) => f.endsWith('pkim.db'))).toBe(true);
    expect(privateKeyTraces(dataDir)).toEqual([]);

    // positive control: the scan does find PKCS#8 keys (DER, PEM) when they are there
    const control = join(tmp.dir, 'control');
    mkdirSync(control);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(control, 'a.der'), ec.privateKey.export({ type: 'pkcs8', format: 'der' }));
    writeFileSync(
      join(control, 'b.txt'),
      `x${rsa.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
    );
    writeFileSync(join(control, 'c.hex'), ec.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('hex'));
    writeFileSync(join(control, 'd.pem'), ec.privateKey.export({ type: 'sec1', format: 'pem' }));
    expect(
      privateKeyTraces(control)
        .map((f) => f.slice(control.length + 1))
        .sort(),
    ).toEqual(['a.der', 'b.txt', 'c.hex', 'd.pem']);
  });

  /** the CKA_IDs of the private and public keys on the token, hex, sorted */
  const tokenKeys = (): string[] =>
    withTokenSession(hsm, (session) => {
      const ids: string[] = [];
      for (const cls of [graphene.ObjectClass.PRIVATE_KEY, graphene.ObjectClass.PUBLIC_KEY]) {
        const found = session.find({ class: cls });
        for (let j = 0; j < found.length; j++) ids.push(`${cls}:${found.items(j).getAttribute('id').toString('hex')}`);
      }
      return ids.sort();
    });
  /** runs `body` counting the key pairs the PKCS#11 backend was asked for (the real backend: a spy calling through) */
  const countingTokenKeys = async (body: () => Promise<void>): Promise<number> => {
    const spy = vi.spyOn(internalsOf(authority).keys.get('pkcs11'), 'generateKey');
    try {
      await body();
      return spy.mock.calls.length;
    } finally {
      spy.mockRestore();
    }
  };

  it('a CA creation the request alone refuses asks the token for no key (parent of pathLen 0, bad NC)', async () => {
    const before = tokenKeys();
    expect(before.length).toBeGreaterThanOrEqual(8); // the four CAs' key pairs: the count can see keys
    const sub = { subject: 'CN=HSM Refused', keyType: 'ec-p256' as const, backend: 'pkcs11' as const };
    const made = await countingTokenKeys(async () => {
      // the EC issuing CA has pathLen 0
      const e = await expectPkiError(
        authority.cas.create({ ...sub, name: 'HSM Below Issuing', parentId: cas.ecInt.id }, admin),
        'lint.path_length_exceeded',
      );
      expect(e.message).toBe('the issuer has pathLenConstraint 0 and cannot sign a CA certificate');
      const bad = { permittedIp: ['10.0.0.0'] }; // not CIDR
      const f = await expectPkiError(
        authority.cas.create({ ...sub, name: 'HSM Bad Constraint', nameConstraints: bad }, admin),
        'lint.invalid_san',
      );
      expect(f.message).toBe("invalid IP name constraint '10.0.0.0' (use CIDR)");
    });
    expect(made).toBe(0);
    expect(tokenKeys()).toEqual(before);
  });

  it('a CA creation that fails after its key was made on the token destroys it (signing, store write)', async () => {
    // a parent (software key) whose constraints the new CA's host-name CN is outside: only the lint of the planned
    // certificate sees that, after the key was made
    const parent = await authority.cas.create(
      {
        name: 'HSM Constrained Parent',
        subject: 'CN=HSM Constrained Parent',
        keyType: 'ec-p256',
        parentId: cas.ecRoot.id,
        pathLen: 1,
        nameConstraints: { permittedDns: ['.example.com'] },
      },
      admin,
    );
    const before = tokenKeys();
    expect(before.length).toBeGreaterThanOrEqual(8); // the four CAs' key pairs: the count can see keys
    const made = await countingTokenKeys(async () => {
      const name = 'hsm.other.org';
      const sub = { name, subject: `CN=${name}`, keyType: 'ec-p256' as const, backend: 'pkcs11' as const };
      await expectPkiError(
        authority.cas.create({ ...sub, parentId: parent.ca.id }, admin),
        'lint.name_constraints_violation',
      );
    });
    expect(made).toBe(1); // the key was made on the token …
    expect(tokenKeys()).toEqual(before); // … and destroyed
    // the store write refuses after the key was made: two creations of one name at once, the second row refused
    const raced = { name: 'HSM Raced Root', subject: 'CN=HSM Raced Root', keyType: 'ec-p256' as const };
    const results = await Promise.allSettled([
      authority.cas.create({ ...raced, backend: 'pkcs11' }, admin),
      authority.cas.create({ ...raced, backend: 'pkcs11' }, admin),
    ]);
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error & { code?: string }] : []));
    expect(won).toHaveLength(1);
    expect(lost.map((e) => e.code)).toEqual(['ca.name_taken']);
    expect(lost[0]!.message).toContain('nothing was committed'); // refused at the commit, after its key was made
    const id = Buffer.from(parsePkcs11Uri(won[0]!.ca.keyUri).id!).toString('hex');
    const cls = [graphene.ObjectClass.PRIVATE_KEY, graphene.ObjectClass.PUBLIC_KEY];
    expect(tokenKeys()).toEqual([...before, ...cls.map((c) => `${c}:${id}`)].sort());
  });

  it('a wrong PKCS#11 PIN: kms.auth_failed, no CA, ca.create_failed audited, the login never retried', async () => {
    const other = locked;
    const dir = join(tmp.dir, 'wrong-pin');
    const wrong = await createAuthority({
      dataDir: dir,
      logger: silent,
      env: {
        PKIM_PKCS11_MODULE: hsm.modulePath,
        PKIM_PKCS11_TOKEN_LABEL: other.tokenLabel,
        PKIM_PKCS11_PIN: `${other.pin}x`,
      },
    });
    try {
      for (let i = 0; i < 2; i++) {
        const err = await expectPkiError(
          wrong.cas.create(
            { name: `wrong-pin-${i}`, subject: 'CN=Never', keyType: 'ec-p256', backend: 'pkcs11' },
            admin,
          ),
          'kms.auth_failed',
        );
        expect(err.retryable).toBe(false);
        expect(err.message).not.toContain(other.pin);
      }
      expect(await internalsOf(wrong).store.cas.list()).toEqual([]);
      const failed = await wrong.audit.list({ action: 'ca.create_failed', limit: 5 });
      expect(failed).toHaveLength(2);
      expect(failed.every((e) => e.details.code === 'kms.auth_failed' && e.details.backend === 'pkcs11')).toBe(true);
      // exactly one C_Login attempt, audited as kms.login_failed; later operations reuse the final error
      const logins = await eventually(
        () => wrong.audit.list({ action: 'kms.login_failed', limit: 5 }),
        (l) => l.length > 0,
      );
      expect(logins).toHaveLength(1);
      expect(logins[0]?.details).toMatchObject({ backend: 'pkcs11', code: 'kms.auth_failed', attempt: 1 });
      const h = await wrong.health();
      expect(h.keyBackends.find((b) => b.backend === 'pkcs11')?.ok).toBe(false);
    } finally {
      await wrong.close();
    }
  });
});
