// PKCS#11 backend against a real SoftHSM2 token (no mocks). Peers: softhsm2, opensc (pkcs11-tool),
// openssl — install with scripts/install-test-peers.sh.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as graphene from 'graphene-pk11';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  Extension,
  Extensions,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_keyUsage,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import type { KeyBackend, KeyBackendEvents, KeyDestroyer, KeyRef } from '../src/key-backend';
import { createPkcs11Backend, ecdsaRawToDer, parsePkcs11Uri, formatPkcs11Uri } from '../src/pkcs11';
import { createSoftHsmToken, withTokenSession, type SoftHsmToken } from '../../../tests/support/softhsm';
import {
  assertSpkiMatchesKeyType,
  catchPkiError,
  expectPkiError,
  nodeVerify,
  opensslVerify,
  spkiKey,
} from './support/backend-conformance';

const execFileAsync = promisify(execFile);

type OperationEvent = Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0];

let hsm: SoftHsmToken;
let lockedOut: { tokenLabel: string; pin: string };
let backend: KeyBackend & KeyDestroyer;
const events: OperationEvent[] = [];

beforeAll(async () => {
  hsm = await createSoftHsmToken({ label: 'pkim-main' });
  // every token of this file must exist before the module is initialised (SoftHSM2 scans at C_Initialize)
  lockedOut = await hsm.addToken({ label: 'pkim-wrong-pin' });
  backend = await createPkcs11Backend({
    modulePath: hsm.modulePath,
    tokenLabel: hsm.tokenLabel,
    pin: hsm.pin,
    events: { onOperation: (e) => events.push(e) },
  });
});

afterAll(async () => {
  await backend?.close();
  await hsm?.cleanup();
});

/** A second view of the token through graphene directly (same process, so it shares the login). */
const withRawSession = <T>(fn: (session: graphene.Session) => T): T => withTokenSession(hsm, fn);

function objectsWithId(session: graphene.Session, id: Uint8Array, cls: graphene.ObjectClass): graphene.SessionObject[] {
  const found = session.find({ class: cls, id: Buffer.from(id) });
  return Array.from({ length: found.length }, (_, i) => found.items(i));
}

describe('PKCS#11 backend on SoftHSM2: key generation and signing', () => {
  const cases: KeyType[] = ['rsa-2048', 'ec-p256', 'ec-p384', 'rsa-4096'];
  for (const keyType of cases) {
    it(`generates a ${keyType} key on the token whose signatures node:crypto and openssl verify`, async () => {
      const ref = await backend.generateKey({ keyType, label: `gen ${keyType}` });
      expect(ref.keyType).toBe(keyType);
      assertSpkiMatchesKeyType(spkiKey(ref.publicKey), keyType);
      const u = parsePkcs11Uri(ref.uri);
      expect(u.token).toBe(hsm.tokenLabel);
      expect(u.object).toBe(`gen ${keyType}`);
      expect(u.id?.length).toBe(16);
      expect(ref.uri).toMatch(/^pkcs11:token=pkim-main;id=(%[0-9a-f]{2}){16};object=gen%20/);

      const data = Buffer.from(`to be signed by ${keyType} ${randomBytes(8).toString('hex')}`);
      const sig = await backend.sign(ref.uri, keyType, data);
      expect(nodeVerify(keyType, ref.publicKey, data, sig)).toBe(true);
      expect(nodeVerify(keyType, ref.publicKey, Buffer.concat([data, Buffer.from('!')]), sig)).toBe(false);
      const ossl = await opensslVerify(keyType, ref.publicKey, data, sig);
      expect(ossl.verified, ossl.output).toBe(true);
      const bad = await opensslVerify(keyType, ref.publicKey, Buffer.from('other data'), sig);
      expect(bad.verified).toBe(false);

      // the SPKI served later is the one returned at generation
      expect(Buffer.from(await backend.getPublicKey(ref.uri)).equals(Buffer.from(ref.publicKey))).toBe(true);
      if (KEY_TYPE_INFO[keyType].algorithm === 'ec') {
        expect(sig[0]).toBe(0x30); // DER Ecdsa-Sig-Value, not raw r‖s
      } else {
        expect(sig.length).toBe(KEY_TYPE_INFO[keyType].bits! / 8);
      }
    });
  }

  it('refuses Ed25519 with kms.unsupported before touching the token', async () => {
    const err = await expectPkiError(backend.generateKey({ keyType: 'ed25519' }), 'kms.unsupported', false);
    expect(err.message).toMatch(/Ed25519/);
  });

  it('stores the private key sensitive, non-extractable, private, sign-only; CKA_VALUE, d unreadable', async () => {
    const rsa = await backend.generateKey({ keyType: 'rsa-2048', label: 'attrs rsa' });
    const ec = await backend.generateKey({ keyType: 'ec-p256', label: 'attrs ec' });
    withRawSession((session) => {
      for (const ref of [rsa, ec]) {
        const privs = objectsWithId(session, parsePkcs11Uri(ref.uri).id!, graphene.ObjectClass.PRIVATE_KEY);
        expect(privs).toHaveLength(1);
        const a = privs[0]!.getAttribute({
          token: null,
          private: null,
          sensitive: null,
          extractable: null,
          alwaysSensitive: null,
          neverExtractable: null,
          local: null,
          sign: null,
          decrypt: null,
          unwrap: null,
          label: null,
        });
        expect(a).toMatchObject({
          token: true,
          private: true,
          sensitive: true,
          extractable: false,
          alwaysSensitive: true,
          neverExtractable: true,
          local: true,
          sign: true,
          decrypt: false,
          unwrap: false,
        });
        expect(a.label).toBe(ref === rsa ? 'attrs rsa' : 'attrs ec');
        if (ref === ec) {
          // CKA_VALUE of an EC private key is the private scalar
          expect(() => privs[0]!.getAttribute('value')).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
        } else {
          // RSA private keys have no CKA_VALUE; their secret parts are the exponent and primes
          expect(() => privs[0]!.getAttribute('value')).toThrow(/CKR_ATTRIBUTE_/);
          for (const secret of ['privateExponent', 'prime1', 'prime2', 'exp1', 'exp2', 'coefficient']) {
            expect(() => privs[0]!.getAttribute(secret), secret).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
          }
        }
        const pubs = objectsWithId(session, parsePkcs11Uri(ref.uri).id!, graphene.ObjectClass.PUBLIC_KEY);
        expect(pubs).toHaveLength(1);
        expect(pubs[0]!.getAttribute('token')).toBe(true);
      }
    });
  });

  it('lets pkcs11-tool (an independent PKCS#11 client) see the key as sensitive and never extractable', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p384', label: 'seen by pkcs11-tool' });
    const idHex = Buffer.from(parsePkcs11Uri(ref.uri).id!).toString('hex');
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(
        'pkcs11-tool',
        [
          '--module',
          hsm.modulePath,
          '--token-label',
          hsm.tokenLabel,
          '--login',
          '--pin',
          hsm.pin,
          '--list-objects',
          '--type',
          'privkey',
          '--id',
          idHex,
        ],
        { env: { ...process.env, SOFTHSM2_CONF: hsm.confPath } },
      ));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error('pkcs11-tool missing: run scripts/install-test-peers.sh (Debian package opensc)');
      throw e;
    }
    expect(stdout).toContain('seen by pkcs11-tool');
    expect(stdout).toMatch(/Access:.*sensitive.*always sensitive.*never extractable/);
    expect(stdout).toMatch(/Usage:\s*sign/);
  });

  it('serves 50 concurrent sign calls per key type, every signature verifying for its own data', async () => {
    for (const keyType of ['ec-p256', 'rsa-2048'] as const) {
      const ref = await backend.generateKey({ keyType, label: `concurrent ${keyType}` });
      const inputs = Array.from({ length: 50 }, (_, i) =>
        Buffer.from(`message ${i} ${randomBytes(16).toString('hex')}`),
      );
      const sigs = await Promise.all(inputs.map((d) => backend.sign(ref.uri, keyType, d)));
      sigs.forEach((sig, i) =>
        expect(nodeVerify(keyType, ref.publicKey, inputs[i]!, sig), `${keyType} #${i}`).toBe(true),
      );
      expect(nodeVerify(keyType, ref.publicKey, inputs[0]!, sigs[1]!)).toBe(false);
    }
  });

  it('keeps the event loop responsive while the token generates an RSA-3072 key', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const ref = await backend.generateKey({ keyType: 'rsa-3072', label: 'async keygen' });
      assertSpkiMatchesKeyType(spkiKey(ref.publicKey), 'rsa-3072');
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('PKCS#11 backend on SoftHSM2: an X.509 certificate signed on the token', () => {
  async function selfSignedCa(ref: KeyRef): Promise<{ der: Buffer; serial: Buffer }> {
    const alg = KEY_TYPE_INFO[ref.keyType].algorithm;
    const sigAlg =
      alg === 'rsa'
        ? new AlgorithmIdentifier({
            algorithm: '1.2.840.113549.1.1.11',
            parameters: new Uint8Array([0x05, 0x00]).buffer,
          }) // sha256WithRSAEncryption, NULL
        : new AlgorithmIdentifier({
            algorithm: ref.keyType === 'ec-p384' ? '1.2.840.10045.4.3.3' : '1.2.840.10045.4.3.2',
          }); // ecdsa-with-SHA384/256
    const spki = AsnConvert.parse(Buffer.from(ref.publicKey), SubjectPublicKeyInfo);
    const ski = createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
    const name = new Name([
      new RelativeDistinguishedName([
        new AttributeTypeAndValue({
          type: '2.5.4.3',
          value: new AttributeValue({ utf8String: `PKIM SoftHSM CA ${ref.keyType}` }),
        }),
      ]),
    ]);
    const serial = randomBytes(20);
    serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero
    const now = Date.now();
    const ext = (extnID: string, critical: boolean, value: object) =>
      new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
    const tbs = new TBSCertificate({
      version: Version.v3,
      serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.length),
      signature: sigAlg,
      issuer: name,
      validity: new Validity({ notBefore: new Date(now - 60_000), notAfter: new Date(now + 365 * 86_400_000) }),
      subject: name,
      subjectPublicKeyInfo: spki,
      extensions: new Extensions([
        ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: true })),
        ext(
          id_ce_keyUsage,
          true,
          new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature),
        ),
        ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(ski)),
        ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(ski) })),
      ]),
    });
    const tbsDer = AsnConvert.serialize(tbs);
    const signature = await backend.sign(ref.uri, ref.keyType, new Uint8Array(tbsDer));
    const cert = new Certificate({
      tbsCertificate: tbs,
      signatureAlgorithm: sigAlg,
      signatureValue: signature.buffer.slice(
        signature.byteOffset,
        signature.byteOffset + signature.length,
      ) as ArrayBuffer,
    });
    return { der: Buffer.from(AsnConvert.serialize(cert)), serial };
  }

  for (const keyType of ['ec-p256', 'ec-p384', 'rsa-2048'] as const) {
    it(`assembles a self-signed ${keyType} CA certificate that openssl verify -x509_strict accepts`, async () => {
      const ref = await backend.generateKey({ keyType, label: `ca ${keyType}` });
      const { der, serial } = await selfSignedCa(ref);
      const x509 = new X509Certificate(der);
      expect(x509.ca).toBe(true);
      expect(x509.verify(spkiKey(ref.publicKey))).toBe(true);

      const dir = await mkdtemp(join(tmpdir(), 'pkim-pkcs11-x509-'));
      try {
        const pem = join(dir, 'cert.pem');
        await writeFile(pem, x509.toString());
        const { stdout } = await execFileAsync('openssl', [
          'verify',
          '-x509_strict',
          '-check_ss_sig',
          '-CAfile',
          pem,
          pem,
        ]);
        expect(stdout.trim()).toBe(`${pem}: OK`);

        // and a certificate with a tampered TBS (one serial-number byte flipped) is refused
        const tampered = Buffer.from(der);
        const at = tampered.indexOf(serial);
        expect(at).toBeGreaterThan(0);
        tampered[at + 10]! ^= 0x01;
        const badPem = join(dir, 'bad.pem');
        await writeFile(
          badPem,
          `-----BEGIN CERTIFICATE-----\n${tampered.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
        );
        const res = await execFileAsync('openssl', [
          'verify',
          '-x509_strict',
          '-check_ss_sig',
          '-CAfile',
          badPem,
          badPem,
        ]).then(
          () => ({ ok: true, out: '' }),
          (err: unknown) => {
            const e = err as { stdout?: string; stderr?: string };
            return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
          },
        );
        expect(res.ok).toBe(false);
        expect(res.out).toMatch(/signature failure|certificate signature failure/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('PKCS#11 backend on SoftHSM2: key lifecycle and errors', () => {
  it('destroys private and public object; sign, getPublicKey, destroy then fail: kms.key_not_found', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p256', label: 'to destroy' });
    const id = parsePkcs11Uri(ref.uri).id!;
    await backend.sign(ref.uri, 'ec-p256', Buffer.from('warm the handle cache'));
    await backend.destroy(ref.uri);
    withRawSession((session) => {
      expect(objectsWithId(session, id, graphene.ObjectClass.PRIVATE_KEY)).toHaveLength(0);
      expect(objectsWithId(session, id, graphene.ObjectClass.PUBLIC_KEY)).toHaveLength(0);
    });
    await expectPkiError(backend.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.key_not_found', false);
    await expectPkiError(backend.getPublicKey(ref.uri), 'kms.key_not_found', false);
    await expectPkiError(backend.destroy(ref.uri), 'kms.key_not_found', false);
  });

  it('notices a key destroyed behind its back (stale cached handle) and reports kms.key_not_found', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p256', label: 'destroyed elsewhere' });
    await backend.sign(ref.uri, 'ec-p256', Buffer.from('cache the handle'));
    withRawSession((session) => {
      for (const o of objectsWithId(session, parsePkcs11Uri(ref.uri).id!, graphene.ObjectClass.PRIVATE_KEY))
        o.destroy();
    });
    await expectPkiError(backend.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.key_not_found', false);
  });

  it('reports kms.key_not_found for an unknown id, a key on another token, a URI without id or object', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p256', label: 'known' });
    const u = parsePkcs11Uri(ref.uri);
    const unknownId = formatPkcs11Uri({ ...u, id: randomBytes(16) });
    await expectPkiError(backend.sign(unknownId, 'ec-p256', Buffer.from('x')), 'kms.key_not_found', false);
    await expectPkiError(backend.getPublicKey(unknownId), 'kms.key_not_found', false);
    const otherToken = formatPkcs11Uri({ ...u, token: 'some-other-token' });
    const err = await expectPkiError(backend.sign(otherToken, 'ec-p256', Buffer.from('x')), 'kms.key_not_found', false);
    expect(err.message).toContain('some-other-token');
    await expectPkiError(
      backend.sign('pkcs11:token=pkim-main', 'ec-p256', Buffer.from('x')),
      'kms.key_not_found',
      false,
    );
  });

  it('refuses to sign with a key type different from the key on the token', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p256', label: 'typed' });
    const err = await expectPkiError(backend.sign(ref.uri, 'ec-p384', Buffer.from('x')), 'kms.operation_failed', false);
    expect(err.message).toMatch(/ec-p256/);
  });

  it('finds a key by object label alone when the URI has no id', async () => {
    const ref = await backend.generateKey({ keyType: 'ec-p384', label: `by label ${randomBytes(4).toString('hex')}` });
    const u = parsePkcs11Uri(ref.uri);
    const byLabel = formatPkcs11Uri({ token: u.token, object: u.object });
    expect(Buffer.from(await backend.getPublicKey(byLabel)).equals(Buffer.from(ref.publicKey))).toBe(true);
    const sig = await backend.sign(byLabel, 'ec-p384', Buffer.from('label'));
    expect(nodeVerify('ec-p384', ref.publicKey, Buffer.from('label'), sig)).toBe(true);
  });

  it('reports health ok (token present, session logged in); audits operations without PIN or keys', async () => {
    const h = await backend.health();
    expect(h).toMatchObject({ ok: true, backend: 'pkcs11' });
    expect(h.detail).toContain('logged in');
    const ref = await backend.generateKey({ keyType: 'ec-p256', label: 'audited' });
    await backend.sign(ref.uri, 'ec-p256', Buffer.from('audit me'));
    const signEvent = events.find((e) => e.operation === 'sign' && e.uri === ref.uri);
    expect(signEvent).toMatchObject({ backend: 'pkcs11', outcome: 'success' });
    expect(signEvent!.durationMs).toBeGreaterThanOrEqual(0);
    expect(events.some((e) => e.operation === 'create_key_pair' && e.outcome === 'success')).toBe(true);
    expect(events.filter((e) => e.operation === 'login')).toEqual([
      expect.objectContaining({ outcome: 'success', attempt: 1 }),
    ]);
    expect(JSON.stringify(events)).not.toContain(hsm.pin);
  });

  it('selects the token by CK_SLOT_ID when no token label is given', async () => {
    const { stdout } = await execFileAsync('softhsm2-util', ['--show-slots'], {
      env: { ...process.env, SOFTHSM2_CONF: hsm.confPath },
    });
    // "Slot 1234\n ... Token info: ... Label: pkim-main"
    const blocks = stdout.split(/^Slot /m).slice(1);
    const block = blocks.find((b) => new RegExp(`Label:\\s+${hsm.tokenLabel}\\s*$`, 'm').test(b));
    expect(block, stdout).toBeDefined();
    const slot = Number(/^(\d+)/.exec(block!)![1]);
    const bySlot = await createPkcs11Backend({ modulePath: hsm.modulePath, slot, pin: hsm.pin });
    try {
      const ref = await bySlot.generateKey({ keyType: 'ec-p256', label: 'by slot' });
      expect(parsePkcs11Uri(ref.uri).token).toBe(hsm.tokenLabel);
      // both backends share the token and its login; each sees the other's keys
      const sig = await backend.sign(ref.uri, 'ec-p256', Buffer.from('shared'));
      expect(nodeVerify('ec-p256', ref.publicKey, Buffer.from('shared'), sig)).toBe(true);
    } finally {
      await bySlot.close();
    }
    // closing the second backend did not log the first one out
    expect((await backend.health()).ok).toBe(true);
  });
});

describe('PKCS#11 backend on SoftHSM2: configuration and credential failures', () => {
  it('fails with kms.auth_failed on a wrong PIN after exactly one C_Login attempt, and never retries', async () => {
    const seen: OperationEvent[] = [];
    const wrongPin = `${lockedOut.pin}x`;
    const wrong = await createPkcs11Backend({
      modulePath: hsm.modulePath,
      tokenLabel: lockedOut.tokenLabel,
      pin: wrongPin,
      events: { onOperation: (e) => seen.push(e) },
    });
    try {
      const e1 = await expectPkiError(wrong.generateKey({ keyType: 'ec-p256' }), 'kms.auth_failed', false);
      expect(e1.details.ckr).toBe('CKR_PIN_INCORRECT');
      expect(e1.message).not.toContain(wrongPin);
      await expectPkiError(
        wrong.sign(`pkcs11:token=${lockedOut.tokenLabel};object=x`, 'ec-p256', Buffer.from('x')),
        'kms.auth_failed',
        false,
      );
      await expectPkiError(
        wrong.getPublicKey(`pkcs11:token=${lockedOut.tokenLabel};object=x`),
        'kms.auth_failed',
        false,
      );
      const h = await wrong.health();
      expect(h.ok).toBe(false);
      expect(h.detail).toContain('kms.auth_failed');
    } finally {
      await wrong.close();
    }
    const logins = seen.filter((e) => e.operation === 'login');
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatchObject({ outcome: 'failure', attempt: 1, error: { code: 'kms.auth_failed' } });
    expect(JSON.stringify(seen)).not.toContain(wrongPin);

    // the token is not locked by our single failed attempt: the right PIN still works
    const right = await createPkcs11Backend({
      modulePath: hsm.modulePath,
      tokenLabel: lockedOut.tokenLabel,
      pin: lockedOut.pin,
    });
    try {
      expect((await right.health()).ok).toBe(true);
    } finally {
      await right.close();
    }
  });

  it('refuses a second backend on a logged-in token when its PIN differs, without calling C_Login', async () => {
    const seen: OperationEvent[] = [];
    const wrong = await createPkcs11Backend({
      modulePath: hsm.modulePath,
      tokenLabel: hsm.tokenLabel,
      pin: 'not-the-pin',
      events: { onOperation: (e) => seen.push(e) },
    });
    try {
      await expectPkiError(wrong.generateKey({ keyType: 'ec-p256' }), 'kms.auth_failed', false);
    } finally {
      await wrong.close();
    }
    expect(seen.filter((e) => e.operation === 'login')).toHaveLength(1);
    // the logged-in backend is unaffected
    expect((await backend.health()).ok).toBe(true);
  });

  it('rejects a module path that does not exist with kms.config_invalid naming the path', async () => {
    const err = await catchPkiError(
      createPkcs11Backend({ modulePath: '/nonexistent/libpkcs11.so', tokenLabel: 'x', pin: '1234' }),
    );
    expect(err.code).toBe('kms.config_invalid');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('/nonexistent/libpkcs11.so');
  });

  it('rejects a file that is not a PKCS#11 module with kms.config_invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkim-pkcs11-bad-'));
    try {
      const fake = join(dir, 'fake.so');
      await writeFile(fake, 'not an ELF shared object');
      const err = await catchPkiError(createPkcs11Backend({ modulePath: fake, tokenLabel: 'x', pin: '1234' }));
      expect(err.code).toBe('kms.config_invalid');
      expect(err.message).toContain(fake);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('treats a token label that is absent as kms.unavailable (retryable) listing the tokens it found', async () => {
    const missing = await createPkcs11Backend({ modulePath: hsm.modulePath, tokenLabel: 'no-such-token', pin: '1234' });
    try {
      const err = await expectPkiError(missing.generateKey({ keyType: 'ec-p256' }), 'kms.unavailable', true);
      expect(err.message).toContain("'no-such-token'");
      expect(err.message).toContain(`'${hsm.tokenLabel}'`);
      const h = await missing.health();
      expect(h.ok).toBe(false);
      expect(h.detail).toContain('no-such-token');
    } finally {
      await missing.close();
    }
  });

  it('fails every operation after close() with a clear kms.unavailable that is not retryable', async () => {
    const b = await createPkcs11Backend({ modulePath: hsm.modulePath, tokenLabel: hsm.tokenLabel, pin: hsm.pin });
    const ref = await b.generateKey({ keyType: 'ec-p256', label: 'closed' });
    await b.close();
    const err = await expectPkiError(b.sign(ref.uri, 'ec-p256', Buffer.from('x')), 'kms.unavailable', false);
    expect(err.message).toMatch(/closed/);
    // the shared module and login survive for the other backend
    const sig = await backend.sign(ref.uri, 'ec-p256', Buffer.from('x'));
    expect(nodeVerify('ec-p256', ref.publicKey, Buffer.from('x'), sig)).toBe(true);
  });
});

describe('ECDSA raw r‖s to DER conversion', () => {
  it('encodes high-bit and leading-zero halves as minimal positive INTEGERs', () => {
    const r = Buffer.alloc(32, 0);
    r[31] = 0x05; // r = 5: leading zeros stripped
    const s = Buffer.alloc(32, 0xff); // high bit set: a 0x00 is prepended
    const der = Buffer.from(ecdsaRawToDer(Buffer.concat([r, s])));
    expect(der.toString('hex')).toBe(`3026020105022100${'ff'.repeat(32)}`);
  });

  it('rejects a raw signature of odd length', () => {
    expect(() => ecdsaRawToDer(new Uint8Array(63))).toThrow(PkiError);
  });
});
