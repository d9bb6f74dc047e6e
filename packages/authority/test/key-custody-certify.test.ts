// Key custody: the Cosmian "Certify" option of root creation (`kmsCertify: true`), against the strict Cosmian
// stand-in built from the published fixtures. The fixtures hold a real RSA-2048 key (public half), a real
// self-signed CA TBSCertificate for it (CN=Example Root CA, 2026-01-01 … 2036-01-01) and the KMS's signature
// over it, so the certificate the stand-in returns from Get(X509) is one the fixture key really signed: the
// whole flow (CreateKeyPair → Get SPKI → Certify → Get X509 → checks → CA row) runs consistently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { fixedClock } from '@pkim/shared';
import { assembleCertificate, fromPem, toPem } from '@pkim/core';
import { createAuthority, subjectToDn, type Actor, type Authority } from '@pkim/authority';
import { checkKmsCertifiedRoot } from '../src/ca-service';
import {
  FIXTURE_TBS_HEX,
  loadFixture,
  startCosmianResponder,
  type CosmianResponder,
  type Json,
} from '../../keys/test/support/cosmian-responder';
import { makeClientCert } from '../../../tests/support/pykmip';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { expectPkiError } from '../../../tests/support/test-kit';
import { internalsOf } from '@pkim/authority/internals';

const admin: Actor = { id: 'usr_test_admin', name: 'alice', role: 'admin' };
const silent = pino({ level: 'silent' });
const API_KEY = 'test-api-key-7c1f';
const JUNE_2027 = Date.UTC(2027, 5, 1);

const kids = (n: Json | undefined): Json[] => (n && Array.isArray(n.value) ? (n.value as Json[]) : []);
const kid = (n: Json | undefined, tag: string): Json | undefined => kids(n).find((c) => c.tag === tag);
const uidOf = (resp: Json, tag: string): string => kid(resp, tag)!.value as string;

const RSA_PAIR = (() => {
  const r = loadFixture('create-key-pair-rsa.json').response;
  return { priv: uidOf(r, 'PrivateKeyUniqueIdentifier'), pub: uidOf(r, 'PublicKeyUniqueIdentifier') };
})();
const CERT_UID = uidOf(loadFixture('certify.json').response, 'UniqueIdentifier');
/** The fixture root: TBS + sha256WithRSAEncryption + the fixture KMS signature over the TBS. */
const FIXTURE_ROOT_DER = assembleCertificate(
  Buffer.from(FIXTURE_TBS_HEX, 'hex'),
  'rsa-2048',
  Buffer.from(uidOf(loadFixture('sign-rsa.json').response, 'SignatureData'), 'hex'),
);
const FIXTURE_SPKI_PEM = (() => {
  const r = loadFixture('get-public-key-spki.json').response;
  const hex = /"KeyMaterial","type":"ByteString","value":"([0-9A-F]+)"/.exec(JSON.stringify(r))?.[1];
  if (!hex) throw new Error('no KeyMaterial in get-public-key-spki.json');
  return toPem(Buffer.from(hex, 'hex'), 'PUBLIC KEY');
})();

/**
 * Certificates made by openssl with a key that is not the fixture key (optionally forcing the fixture public key in).
 */
function opensslCerts(dir: string): { otherKeyRoot: Uint8Array; forcedKeyCa: Uint8Array; forcedKeyLeaf: Uint8Array } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-days',
    '30',
    '-subj',
    '/CN=Example Root CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(join(dir, 'fixture.pub.pem'), FIXTURE_SPKI_PEM);
  writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n');
  run(['req', '-new', '-key', 'other.key', '-subj', '/CN=Example Root CA', '-out', 'r.csr']);
  for (const [ext, out] of [
    ['ca.ext', 'forced-ca.crt'],
    ['leaf.ext', 'forced-leaf.crt'],
  ] as const) {
    run([
      'x509',
      '-req',
      '-in',
      'r.csr',
      '-signkey',
      'other.key',
      '-force_pubkey',
      'fixture.pub.pem',
      '-extfile',
      ext,
      '-days',
      '30',
      '-out',
      out,
    ]);
  }
  const der = (f: string) => fromPem(readFileSync(join(dir, f), 'utf8'), 'CERTIFICATE');
  return { otherKeyRoot: der('other.crt'), forcedKeyCa: der('forced-ca.crt'), forcedKeyLeaf: der('forced-leaf.crt') };
}

describe('kmsCertify: the Cosmian KMS self-signs the root, PKI Manager checks it before trusting it', () => {
  const tmp = tempDir('pkim-kc-certify-');
  let certs: ReturnType<typeof opensslCerts>;
  const open: { authority: Authority; responder?: CosmianResponder }[] = [];

  async function setup(opts: { certificateDer?: Uint8Array; now?: number; env?: Record<string, string> } = {}) {
    const responder = await startCosmianResponder({
      apiKey: API_KEY,
      certificateDer: opts.certificateDer ?? FIXTURE_ROOT_DER,
    });
    const dataDir = join(tmp.dir, `data-${open.length}`);
    const authority = await createAuthority({
      dataDir,
      logger: silent,
      clock: fixedClock(opts.now ?? JUNE_2027),
      env: opts.env ?? { PKIM_KMIP_URL: responder.url, PKIM_KMIP_API_KEY: API_KEY, PKIM_KMIP_TIMEOUT_MS: '5000' },
    });
    open.push({ authority, responder });
    return { authority, responder };
  }

  const ops = (r: CosmianResponder) =>
    r.requests.map((q) => {
      const b = q.body as Json;
      return b.tag === 'RequestMessage'
        ? kids(b)
            .filter((c) => c.tag === 'BatchItem')
            .map((i) => kid(i, 'Operation')!.value as string)
            .join('+')
        : b.tag;
    });

  beforeAll(() => {
    certs = opensslCerts(tmp.dir);
  });

  afterAll(async () => {
    for (const o of open) {
      await o.authority.close().catch(() => undefined);
      await o.responder?.close();
    }
    tmp.cleanup();
  });

  it('creates a root whose certificate the KMS minted: row, key URI, audit; openssl accepts it', async () => {
    const { authority, responder } = await setup();
    const created = await authority.cas.create(
      { name: 'cosmian-root', subject: 'CN=Example Root CA', keyType: 'rsa-2048', backend: 'kmip', kmsCertify: true },
      admin,
    );
    const row = created.ca;
    expect(row.keyBackend).toBe('kmip');
    expect(row.keyUri).toBe(`kmip:${RSA_PAIR.priv}@${new URL(responder.url).host}?pub=${RSA_PAIR.pub}`);
    expect(row.subjectDn).toBe('CN=Example Root CA');
    expect(row.issuerDn).toBe('CN=Example Root CA');
    expect(row.serialHex).toBe('1234');
    expect(row.notBefore).toBe(Date.UTC(2026, 0, 1));
    expect(row.notAfter).toBe(Date.UTC(2036, 0, 1));
    expect(Buffer.from(fromPem(created.certificatePem!, 'CERTIFICATE')).equals(Buffer.from(FIXTURE_ROOT_DER))).toBe(
      true,
    );
    expect((await internalsOf(authority).store.cas.findById(row.id))?.certificatePem).toBe(created.certificatePem);

    // every request passed the strict schema; the KMS was asked to self-sign with the pair's own private key
    expect(responder.requests.every((r) => r.valid && r.authorization === `Bearer ${API_KEY}`)).toBe(true);
    expect(ops(responder)).toEqual(['CreateKeyPair', 'Get', 'Certify', 'Get']);
    const certify = responder.requests[2]!.body as Json;
    expect(kid(certify, 'UniqueIdentifier')?.value).toBe(RSA_PAIR.pub);
    const attrs = kid(certify, 'Attributes');
    expect(JSON.stringify(kid(attrs, 'Link'))).toContain(RSA_PAIR.priv);
    expect(kid(kid(attrs, 'CertificateAttributes'), 'CertificateSubjectCn')?.value).toBe('Example Root CA');
    const ini = Buffer.from(
      kids(kid(attrs, 'VendorAttributes'))
        .map((v) => v.value as Json[])
        .find((v) => v.some((c) => c.value === 'x509-extension'))!
        .find((c) => c.tag === 'AttributeValue')!.value as string,
      'hex',
    ).toString('utf8');
    expect(ini).toMatch(/^\[v3_ca\]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n/);

    const events = await authority.audit.list({ limit: 20, order: 'asc' });
    const created_ = events.find((e) => e.action === 'ca.created');
    expect(created_?.details).toMatchObject({ kmsCertified: true, kmsCertificateUid: CERT_UID, backend: 'kmip' });
    expect(events.map((e) => e.action)).toContain('kms.key_created');

    const pem = created.certificatePem!;
    const v = opensslVerify({ leafPem: pem, chainPems: [], rootPem: pem, purpose: 'any' });
    expect(v.ok, v.output).toBe(true);
  });

  const rejections: {
    name: string;
    cert: () => Uint8Array;
    subject?: string;
    now?: number;
    code: string;
    message: RegExp;
  }[] = [
    {
      name: 'a certificate for a different key',
      cert: () => certs.otherKeyRoot,
      code: 'ca.certificate_mismatch',
      message: /public keys differ/,
    },
    {
      name: 'a certificate for the key whose self-signature does not verify',
      cert: () => certs.forcedKeyCa,
      code: 'certificate.verify_failed',
      message: /self-signature/,
    },
    {
      name: 'a non-CA certificate for the key',
      cert: () => certs.forcedKeyLeaf,
      code: 'ca.certificate_mismatch',
      message: /not a CA certificate/,
    },
    {
      name: 'a certificate with another subject',
      cert: () => FIXTURE_ROOT_DER,
      subject: 'CN=Another Root CA',
      code: 'ca.certificate_mismatch',
      message: /subject/,
    },
    {
      name: 'an expired certificate',
      cert: () => FIXTURE_ROOT_DER,
      now: Date.UTC(2036, 5, 1),
      code: 'ca.certificate_mismatch',
      message: /not valid now/,
    },
    {
      name: 'a certificate not yet valid',
      cert: () => FIXTURE_ROOT_DER,
      now: Date.UTC(2025, 5, 1),
      code: 'ca.certificate_mismatch',
      message: /not valid now/,
    },
  ];
  for (const r of rejections) {
    it(`rejects ${r.name}: ${r.code}, no CA, ca.create_failed audited, KMS key + certificate destroyed`, async () => {
      const { authority, responder } = await setup({ certificateDer: r.cert(), now: r.now });
      const err = await expectPkiError(
        authority.cas.create(
          {
            name: 'bad-root',
            subject: r.subject ?? 'CN=Example Root CA',
            keyType: 'rsa-2048',
            backend: 'kmip',
            kmsCertify: true,
          },
          admin,
        ),
        r.code,
      );
      expect(err.message).toMatch(r.message);
      expect(await internalsOf(authority).store.cas.list()).toEqual([]);
      const failed = (await authority.audit.list({ action: 'ca.create_failed', limit: 5 }))[0];
      expect(failed?.details).toMatchObject({ code: r.code, kmsCertify: true, backend: 'kmip' });
      // best-effort clean-up in the KMS: the certificate object and both halves of the pair are revoked and destroyed
      const destroyed = responder.requests
        .filter((q) => (q.body as Json).tag === 'Destroy')
        .map((q) => kid(q.body as Json, 'UniqueIdentifier')?.value);
      expect(destroyed).toEqual([CERT_UID, RSA_PAIR.priv, RSA_PAIR.pub]);
    });
  }

  it('refuses kmsCertify for non-kmip backends, intermediates, name constraints, before creating a key', async () => {
    const { authority, responder } = await setup();
    const base = { name: 'refused', subject: 'CN=Example Root CA', keyType: 'rsa-2048' as const, kmsCertify: true };
    const soft = await expectPkiError(authority.cas.create({ ...base, backend: 'software' }, admin), 'input.invalid');
    expect(soft.message).toMatch(/needs backend kmip/);
    await expectPkiError(authority.cas.create({ ...base }, admin), 'input.invalid');
    const parent = await expectPkiError(
      authority.cas.create({ ...base, backend: 'kmip', parentId: 'ca_x' }, admin),
      'input.invalid',
    );
    expect(parent.message).toMatch(/cannot have a parent/);
    await expectPkiError(
      authority.cas.create({ ...base, backend: 'kmip', nameConstraints: { permittedDns: ['.example.com'] } }, admin),
      'input.invalid',
    );
    await expectPkiError(
      authority.cas.create({ ...base, backend: 'kmip', subject: 'CN=Root,DC=example' }, admin),
      'input.invalid',
    );
    expect(responder.requests).toEqual([]);
    expect(await internalsOf(authority).store.cas.list()).toEqual([]);
    expect((await authority.audit.list({ action: 'ca.create_failed', limit: 10 })).length).toBe(5);
  });

  it('refuses kmsCertify when the KMIP server is binary KMIP (kmip://), without contacting it', async () => {
    const dir = join(tmp.dir, 'kmip-tls');
    execFileSync('mkdir', ['-p', dir]);
    const client = await makeClientCert(dir, 'client');
    for (const [f, pem] of [
      ['ca.pem', client.caPem],
      ['client.pem', client.certPem],
      ['client.key', client.keyPem],
    ])
      writeFileSync(join(dir, f!), pem!);
    const { authority } = await setup({
      env: {
        PKIM_KMIP_URL: 'kmip://127.0.0.1:9',
        PKIM_KMIP_CA: join(dir, 'ca.pem'),
        PKIM_KMIP_CLIENT_CERT: join(dir, 'client.pem'),
        PKIM_KMIP_CLIENT_KEY: join(dir, 'client.key'),
      },
    });
    const err = await expectPkiError(
      authority.cas.create(
        { name: 'tls-root', subject: 'CN=Example Root CA', keyType: 'rsa-2048', backend: 'kmip', kmsCertify: true },
        admin,
      ),
      'kms.unsupported',
    );
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/http\(s\):\/\/ Cosmian KMS URL/);
    const kmsFailures = (await authority.audit.list({ limit: 20 })).filter((e) => e.action.startsWith('kms.'));
    expect(kmsFailures).toEqual([]); // no KMIP operation was attempted
  });

  it('checkKmsCertifiedRoot accepts the fixture root for its key and asks for pathLen when one was requested', () => {
    const spki = fromPem(FIXTURE_SPKI_PEM, 'PUBLIC KEY');
    const dn = subjectToDn('CN=Example Root CA');
    const info = checkKmsCertifiedRoot(FIXTURE_ROOT_DER, { publicKey: spki }, dn, null, JUNE_2027);
    expect(info.isCa).toBe(true);
    expect(() => checkKmsCertifiedRoot(FIXTURE_ROOT_DER, { publicKey: spki }, dn, 1, JUNE_2027)).toThrow(/pathLen/);
    expect(() =>
      checkKmsCertifiedRoot(Buffer.from('not a certificate'), { publicKey: spki }, dn, null, JUNE_2027),
    ).toThrow(/parsable/);
  });
});
