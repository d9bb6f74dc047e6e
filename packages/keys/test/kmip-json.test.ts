import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, TBSCertificate } from '@peculiar/asn1-x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCapability, type KeyBackendEvents } from '../src/key-backend';
import {
  createKmipBackend,
  createKmipClient,
  createKmipHttpTransport,
  formatKmipKeyUri,
  kmipConfigFromEnv,
  parseKmipKeyUri,
} from '../src/kmip';
import { decodeBinaryTtlv, encodeBinaryTtlv } from '../src/kmip/kmip-binary-codec';
import { decodeJsonTtlv, encodeJsonTtlv } from '../src/kmip/kmip-json-codec';
import { buildBareRequest, buildRequestMessage } from '../src/kmip/kmip-message';
import {
  buildActivate,
  buildCertify,
  buildCreateKeyPair,
  buildDestroy,
  buildGetPublicKey,
  buildLocate,
  buildQuery,
  buildRevoke,
  buildSign,
  type KmipRequest,
} from '../src/kmip/kmip-operations';
import { ttlv } from '../src/kmip/kmip-ttlv';
import { expectPkiError, nodeVerify } from './support/backend-conformance';
import {
  FIXTURE_TBS_HEX,
  loadFixture,
  startCosmianResponder,
  validateRequest,
  type CosmianResponder,
  type Json,
} from './support/cosmian-responder';

const FIXTURES = [
  'query.json',
  'create-key-pair-rsa.json',
  'create-key-pair-ec.json',
  'get-public-key-spki.json',
  'sign-rsa.json',
  'sign-ecdsa.json',
  'certify.json',
  'activate.json',
  'revoke.json',
  'destroy.json',
  'locate.json',
];
const TBS = Buffer.from(FIXTURE_TBS_HEX, 'hex');
const WHEN = new Date('2026-01-15T10:20:30Z');

type Ev = Parameters<NonNullable<KeyBackendEvents['onOperation']>>[0];

/** Removes `"type":"Structure"` so requests (typed) and responses (untyped) compare alike. */
function untypeStructures(n: unknown): unknown {
  if (Array.isArray(n)) return n.map(untypeStructures);
  if (n && typeof n === 'object') {
    const o = { ...(n as Record<string, unknown>) };
    if (o.type === 'Structure') delete o.type;
    if (Array.isArray(o.value)) o.value = o.value.map(untypeStructures);
    return o;
  }
  return n;
}

function isNode(v: unknown): v is Json {
  return !!v && typeof v === 'object' && typeof (v as Json).tag === 'string' && 'value' in (v as Json);
}

function kid(n: Json, tag: string): Json | undefined {
  return (n.value as Json[]).find((c) => c.tag === tag);
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

function fixtureSpki(variant?: 'ec'): Buffer {
  const get = loadFixture('get-public-key-spki.json');
  const resp = variant === 'ec' ? (get.variants as Record<string, Json>).ec_spki_response! : get.response;
  const find = (n: Json): string | undefined => {
    if (n.tag === 'KeyMaterial') return n.value as string;
    if (Array.isArray(n.value))
      for (const c of n.value as Json[]) {
        const r = find(c);
        if (r) return r;
      }
    return undefined;
  };
  return Buffer.from(find(resp)!, 'hex');
}

function fixtureSignature(file: string): Buffer {
  return Buffer.from(kid(loadFixture(file).response, 'SignatureData')!.value as string, 'hex');
}

/** Assembles Certificate = SEQUENCE{tbs, tbs.signature algorithm, BIT STRING sig} with @peculiar/asn1-x509. */
function assembleCertificate(tbsDer: Uint8Array, signature: Uint8Array): Buffer {
  const tbs = AsnConvert.parse(Buffer.from(tbsDer), TBSCertificate);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: tbs.signature,
    signatureValue: new Uint8Array(signature).buffer,
  });
  const der = Buffer.from(AsnConvert.serialize(cert));
  expect(der.includes(Buffer.from(tbsDer)), 'the TBS must be embedded byte for byte').toBe(true);
  return der;
}

function pem(der: Uint8Array, label: string): string {
  return `-----BEGIN ${label}-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

const uidOfFixture = (file: string, tag: string): string => kid(loadFixture(file).response, tag)!.value as string;
const RSA_PRIV = uidOfFixture('create-key-pair-rsa.json', 'PrivateKeyUniqueIdentifier');
const RSA_PUB = uidOfFixture('create-key-pair-rsa.json', 'PublicKeyUniqueIdentifier');
const EC_PRIV = uidOfFixture('create-key-pair-ec.json', 'PrivateKeyUniqueIdentifier');

describe('Cosmian JSON TTLV codec', () => {
  for (const file of FIXTURES) {
    it(`round-trips every node of ${file} (decode → encode equals the fixture, modulo Structure type)`, () => {
      const fx = loadFixture(file);
      const nodes: [string, Json][] = [];
      for (const [k, v] of Object.entries(fx)) if (isNode(v)) nodes.push([k, v]);
      for (const [k, v] of Object.entries((fx.variants ?? {}) as Record<string, unknown>))
        if (isNode(v)) nodes.push([`variants.${k}`, v]);
      expect(nodes.length).toBeGreaterThanOrEqual(4);
      for (const [where, node] of nodes) {
        const back = encodeJsonTtlv(decodeJsonTtlv(node));
        expect(untypeStructures(back), `${file} ${where}`).toEqual(untypeStructures(node));
      }
    });
  }

  it('round-trips the published failure ResponseMessage and the two-item batch envelope', () => {
    const err = loadFixture('error-response.json').response_message_failure as Json;
    expect(untypeStructures(encodeJsonTtlv(decodeJsonTtlv(err)))).toEqual(untypeStructures(err));
    const env = loadFixture('request-message-envelope.json').request;
    expect(encodeJsonTtlv(decodeJsonTtlv(env))).toEqual(env);
  });

  it('reads a missing type as Structure, LongInteger hex strings, lowercase hex ByteStrings, 0x enumerations', () => {
    const n = decodeJsonTtlv({
      tag: 'X',
      value: [
        { tag: 'L', type: 'LongInteger', value: '0x0000000000000010' },
        { tag: 'B', type: 'ByteString', value: 'ab01' },
        { tag: 'ResultReason', type: 'Enumeration', value: '0x0000000C' },
        { tag: 'I', type: 'Integer', value: '0x00000800' },
      ],
    });
    expect(n.type).toBe('Structure');
    const [l, b, r, i] = (n as { value: { value: unknown }[] }).value;
    expect(l!.value).toBe(16n);
    expect(Buffer.from(b!.value as Uint8Array).toString('hex')).toBe('ab01');
    expect(r!.value).toBe('Permission_Denied');
    expect(i!.value).toBe(2048);
    expect(encodeJsonTtlv(ttlv.long('L', 16n))).toEqual({ tag: 'L', type: 'LongInteger', value: '0x0000000000000010' });
    expect(encodeJsonTtlv(ttlv.bytes('B', Buffer.from([0xab, 0x01])))).toEqual({
      tag: 'B',
      type: 'ByteString',
      value: 'AB01',
    });
  });

  it('rejects a node with an unknown type or a non-array Structure value', () => {
    expect(() => decodeJsonTtlv({ tag: 'A', type: 'Float', value: 1 })).toThrow(/unknown type/);
    expect(() => decodeJsonTtlv({ tag: 'A', value: 'x' })).toThrow(/array/);
    expect(() => decodeJsonTtlv({ tag: 'A', type: 'ByteString', value: 'XYZ' })).toThrow(/hex/);
  });
});

describe('binary TTLV codec', () => {
  it('encodes the KMIP 1.4 Query RequestMessage byte for byte (3-byte tag, type, length, 8-byte padding)', () => {
    const bytes = encodeBinaryTtlv(buildRequestMessage({ major: 1, minor: 4 }, buildQuery()));
    const expected = [
      '42007801 00000080',
      '42007701 00000038',
      '42006901 00000020',
      '42006A02 00000004 00000001 00000000',
      '42006B02 00000004 00000004 00000000',
      '42000D02 00000004 00000001 00000000',
      '42000F01 00000038',
      '42005C05 00000004 00000018 00000000',
      '42007901 00000020',
      '42007405 00000004 00000001 00000000',
      '42007405 00000004 00000003 00000000',
    ]
      .join('')
      .replace(/\s/g, '');
    expect(bytes.toString('hex').toUpperCase()).toBe(expected);
    expect(decodeBinaryTtlv(bytes)).toEqual(buildRequestMessage({ major: 1, minor: 4 }, buildQuery()));
  });

  it('round-trips the fixture request messages through binary TTLV (text, bytes, dates, enums, padding)', () => {
    for (const file of [
      'sign-rsa.json',
      'sign-ecdsa.json',
      'create-key-pair-rsa.json',
      'create-key-pair-ec.json',
      'revoke.json',
      'activate.json',
      'destroy.json',
    ]) {
      const model = decodeJsonTtlv(loadFixture(file).request_message);
      const bin = encodeBinaryTtlv(model);
      expect(bin.length % 8, file).toBe(0);
      expect(decodeBinaryTtlv(bin), file).toEqual(model);
    }
  });

  it('round-trips every primitive type including negative, boolean and odd-length values', () => {
    const node = ttlv.struct('Attribute', [
      ttlv.int('CryptographicLength', -5),
      ttlv.long('0x420123', -2n),
      { tag: 'Modulus', type: 'BigInteger', value: new Uint8Array([0x00, 0x80, 0x01]) },
      ttlv.bool('InitIndicator', true),
      ttlv.text('NameValue', 'é-name'),
      ttlv.bytes('Data', new Uint8Array([1, 2, 3])),
      ttlv.date('ActivationDate', WHEN),
      { tag: '0x4200FE', type: 'Interval', value: 3600 },
    ]);
    const back = decodeBinaryTtlv(encodeBinaryTtlv(node));
    const bi = (back as { value: { value: unknown }[] }).value[2]!.value as Uint8Array;
    expect(bi.length).toBe(8); // sign-extended to a multiple of 8
    expect(Buffer.from(bi).toString('hex')).toBe('0000000000008001');
    const others = (n: unknown): unknown[] => (n as { value: unknown[] }).value.filter((_, i) => i !== 2);
    expect(others(back)).toEqual(others(node));
  });

  it('refuses truncated input and unknown tag names', () => {
    const bytes = encodeBinaryTtlv(buildRequestMessage({ major: 1, minor: 4 }, buildQuery()));
    expect(() => decodeBinaryTtlv(bytes.subarray(0, bytes.length - 8))).toThrow(/overruns|truncated/);
    expect(() => encodeBinaryTtlv(ttlv.text('NoSuchTag', 'x'))).toThrow(/no binary tag/);
  });
});

describe('Cosmian request encoder', () => {
  const cases: [string, KmipRequest, () => Json][] = [
    ['Query', buildQuery(), () => loadFixture('query.json').request],
    [
      'CreateKeyPair RSA-2048',
      buildCreateKeyPair('cosmian-2.1', { keyType: 'rsa-2048', name: 'pki-root-ca-key', activationDate: WHEN }),
      () => loadFixture('create-key-pair-rsa.json').request,
    ],
    [
      'CreateKeyPair RSA-4096',
      buildCreateKeyPair('cosmian-2.1', { keyType: 'rsa-4096', name: 'pki-root-ca-key', activationDate: WHEN }),
      () => (loadFixture('create-key-pair-rsa.json').variants as Record<string, Json>).rsa4096_request!,
    ],
    [
      'CreateKeyPair P-256',
      buildCreateKeyPair('cosmian-2.1', { keyType: 'ec-p256', activationDate: WHEN }),
      () => loadFixture('create-key-pair-ec.json').request,
    ],
    [
      'CreateKeyPair P-384',
      buildCreateKeyPair('cosmian-2.1', { keyType: 'ec-p384', activationDate: WHEN }),
      () => (loadFixture('create-key-pair-ec.json').variants as Record<string, Json>).p384_request!,
    ],
    ['Get SPKI', buildGetPublicKey('cosmian-2.1', RSA_PUB), () => loadFixture('get-public-key-spki.json').request],
    ['Sign RSA', buildSign('cosmian-2.1', RSA_PRIV, 'rsa-2048', TBS), () => loadFixture('sign-rsa.json').request],
    ['Sign ECDSA', buildSign('cosmian-2.1', EC_PRIV, 'ec-p256', TBS), () => loadFixture('sign-ecdsa.json').request],
    [
      'Certify',
      buildCertify({
        publicKeyUid: RSA_PUB,
        issuerPrivateKeyUid: RSA_PRIV,
        subject: { cn: 'Example Root CA', o: 'Example', c: 'FR' },
        validityDays: 3650,
      }),
      () => loadFixture('certify.json').request,
    ],
    ['Activate', buildActivate(RSA_PRIV), () => loadFixture('activate.json').request],
    [
      'Revoke',
      buildRevoke(RSA_PRIV, { reason: 'KeyCompromise', message: 'CA key retired', compromiseDate: WHEN }),
      () => loadFixture('revoke.json').request,
    ],
    ['Destroy', buildDestroy(RSA_PRIV), () => loadFixture('destroy.json').request],
    [
      'Locate',
      buildLocate('cosmian-2.1', { maxItems: 16, objectType: 'PrivateKey', algorithm: 'RSA', name: 'pki-root-ca-key' }),
      () => loadFixture('locate.json').request,
    ],
  ];
  for (const [label, req, fixture] of cases) {
    it(`produces exactly the published ${label} request`, () => {
      expect(encodeJsonTtlv(buildBareRequest(req))).toEqual(fixture());
    });
  }

  it('wraps operations in exactly the published RequestMessage envelope', () => {
    expect(
      encodeJsonTtlv(buildRequestMessage({ major: 2, minor: 1 }, buildSign('cosmian-2.1', RSA_PRIV, 'rsa-2048', TBS))),
    ).toEqual(loadFixture('sign-rsa.json').request_message);
    expect(encodeJsonTtlv(buildRequestMessage({ major: 2, minor: 1 }, buildQuery()))).toEqual(
      loadFixture('query.json').request_message,
    );
  });

  it('sends a CSR as CertificateRequestValue, CertificateRequestType PKCS10 (never CertificateRequest)', () => {
    const csr = new Uint8Array([0x30, 0x82, 0x01, 0x02, 0xaa]);
    const json = encodeJsonTtlv(
      buildBareRequest(buildCertify({ csr: { der: csr }, issuerPrivateKeyUid: RSA_PRIV, validityDays: 365 })),
    );
    expect(kid(json, 'CertificateRequestType')).toEqual({
      tag: 'CertificateRequestType',
      type: 'Enumeration',
      value: 'PKCS10',
    });
    expect(kid(json, 'CertificateRequestValue')).toEqual({
      tag: 'CertificateRequestValue',
      type: 'ByteString',
      value: '3082010' + '2AA',
    });
    expect(kid(json, 'CertificateRequest')).toBeUndefined();
    expect(kid(json, 'UniqueIdentifier')).toBeUndefined();
    expect(() => validateRequest(json)).not.toThrow();
  });
});

describe('Cosmian responder (fixture-backed, strict schema)', () => {
  let r: CosmianResponder;
  beforeAll(async () => {
    r = await startCosmianResponder();
  });
  afterAll(async () => {
    await r.close();
  });

  async function post(body: unknown): Promise<{ status: number; text: string }> {
    const res = await fetch(`${r.url}/kmip/2_1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  it('accepts every published request and request message', async () => {
    for (const file of FIXTURES) {
      const fx = loadFixture(file);
      expect(() => validateRequest(fx.request), file).not.toThrow();
      expect(() => validateRequest(fx.request_message), file).not.toThrow();
    }
    expect(() => validateRequest(loadFixture('request-message-envelope.json').request)).not.toThrow();
  });

  it('rejects deliberately malformed requests with HTTP 422', async () => {
    const sign = loadFixture('sign-rsa.json').request;
    const ckp = loadFixture('create-key-pair-rsa.json').request;
    const certify = loadFixture('certify.json').request;
    const mutate = (n: Json, f: (c: Json) => void): Json => {
      const copy = JSON.parse(JSON.stringify(n)) as Json;
      f(copy);
      return copy;
    };
    const bad: [string, Json, RegExp][] = [
      [
        'usage mask given as a name',
        mutate(ckp, (c) => {
          kid(kid(c, 'PrivateKeyAttributes')!, 'CryptographicUsageMask')!.value = 'Sign';
        }),
        /Integer/,
      ],
      [
        'CSR under the CertificateRequest tag',
        mutate(certify, (c) => {
          (c.value as Json[]).push({ tag: 'CertificateRequest', type: 'ByteString', value: '3082' });
        }),
        /unexpected tag CertificateRequest/,
      ],
      [
        'Sign without UniqueIdentifier',
        mutate(sign, (c) => {
          c.value = (c.value as Json[]).filter((x) => x.tag !== 'UniqueIdentifier');
        }),
        /missing required UniqueIdentifier/,
      ],
      [
        'unknown signature algorithm name',
        mutate(sign, (c) => {
          kid(kid(c, 'CryptographicParameters')!, 'DigitalSignatureAlgorithm')!.value = 'SHA256WithRSA';
        }),
        /not in/,
      ],
      [
        'Data typed TextString',
        mutate(sign, (c) => {
          kid(c, 'Data')!.type = 'TextString';
        }),
        /expected type ByteString/,
      ],
      [
        'Init and Final both true',
        mutate(sign, (c) => {
          (c.value as Json[]).push(
            { tag: 'InitIndicator', type: 'Boolean', value: true },
            { tag: 'FinalIndicator', type: 'Boolean', value: true },
          );
        }),
        /InitIndicator/,
      ],
    ];
    for (const [label, body, why] of bad) {
      const res = await post(body);
      expect(res.status, label).toBe(422);
      expect(res.text, label).toMatch(why);
    }
    expect((await post(loadFixture('query.json').request)).status).toBe(200);
  });
});

describe('KMIP backend against the Cosmian responder', () => {
  let r: CosmianResponder;
  let certDer: Buffer;
  const events: Ev[] = [];
  beforeAll(async () => {
    certDer = assembleCertificate(TBS, fixtureSignature('sign-rsa.json'));
    r = await startCosmianResponder({ certificateDer: certDer });
  });
  afterAll(async () => {
    await r.close();
  });

  it('verifies the fixture signature over its TBS with its SPKI (node:crypto; openssl, assembled)', async () => {
    const key = createPublicKey({ key: fixtureSpki(), format: 'der', type: 'spki' });
    expect(cryptoVerify('sha256', TBS, key, fixtureSignature('sign-rsa.json'))).toBe(true);
    expect(
      cryptoVerify(
        'sha256',
        TBS,
        { key: createPublicKey({ key: fixtureSpki('ec'), format: 'der', type: 'spki' }), dsaEncoding: 'der' },
        fixtureSignature('sign-ecdsa.json'),
      ),
    ).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), 'pkim-kmip-'));
    try {
      await writeFile(join(dir, 'ca.pem'), pem(certDer, 'CERTIFICATE'));
      const ok = await run('openssl', ['verify', '-check_ss_sig', '-CAfile', join(dir, 'ca.pem'), join(dir, 'ca.pem')]);
      expect(ok.out).toMatch(/: OK/);
      expect(ok.code).toBe(0);
      const tampered = Buffer.from(certDer);
      tampered[tampered.length - 1]! ^= 1;
      await writeFile(join(dir, 'bad.pem'), pem(tampered, 'CERTIFICATE'));
      const bad = await run('openssl', [
        'verify',
        '-check_ss_sig',
        '-CAfile',
        join(dir, 'bad.pem'),
        join(dir, 'bad.pem'),
      ]);
      expect(bad.code, bad.out).not.toBe(0);
      expect(bad.out).toMatch(/signature failure/i);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs CreateKeyPair → Get → Sign → Destroy; requests pass the strict schema, events hold no keys', async () => {
    const b = createKmipBackend({ url: r.url, events: { onOperation: (e) => events.push(e) } });
    try {
      const start = r.requests.length;
      const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'pki-root-ca-key' });
      expect(ref.uri).toBe(
        formatKmipKeyUri({ privateKeyUid: RSA_PRIV, publicKeyUid: RSA_PUB, server: new URL(r.url).host }),
      );
      expect(Buffer.from(ref.publicKey).equals(fixtureSpki())).toBe(true);
      expect(Buffer.from(await b.getPublicKey(ref.uri)).equals(fixtureSpki())).toBe(true);
      const sig = await b.sign(ref.uri, 'rsa-2048', TBS);
      expect(Buffer.from(sig).equals(fixtureSignature('sign-rsa.json'))).toBe(true);
      expect(nodeVerify('rsa-2048', ref.publicKey, TBS, sig)).toBe(true);
      await b.destroy(ref.uri);
      const seen = r.requests.slice(start);
      expect(seen.map((q) => (q.body as Json).tag)).toEqual([
        'CreateKeyPair',
        'Get',
        'Get',
        'Sign',
        'Revoke',
        'Destroy',
        'Revoke',
        'Destroy',
      ]);
      expect(
        seen.every((q) => q.valid),
        JSON.stringify(seen.filter((q) => !q.valid).map((q) => q.error)),
      ).toBe(true);
      // the Destroys name both halves of the pair
      const destroyed = seen
        .filter((q) => (q.body as Json).tag === 'Destroy')
        .map((q) => kid(q.body as Json, 'UniqueIdentifier')!.value);
      expect(destroyed).toEqual([RSA_PRIV, RSA_PUB]);
      await expectPkiError(b.sign(ref.uri, 'rsa-2048', TBS), 'kms.key_not_found', false);
      const ops = events.map((e) => e.operation);
      expect(ops).toEqual(expect.arrayContaining(['create_key_pair', 'get', 'sign', 'revoke', 'destroy']));
      const serialized = JSON.stringify(events);
      expect(serialized).not.toContain(fixtureSignature('sign-rsa.json').toString('hex').slice(0, 32));
      expect(serialized.toUpperCase()).not.toContain(FIXTURE_TBS_HEX.slice(0, 40));
      expect(events.every((e) => e.backend === 'kmip' && e.attempt === 1 && typeof e.durationMs === 'number')).toBe(
        true,
      );
    } finally {
      await b.close();
    }
  });

  it('signs with an ECDSA P-256 key and returns the DER ECDSA-Sig-Value', async () => {
    const b = createKmipBackend({ url: r.url });
    try {
      const ref = await b.generateKey({ keyType: 'ec-p256' });
      const sig = await b.sign(ref.uri, 'ec-p256', TBS);
      expect(sig[0]).toBe(0x30);
      expect(nodeVerify('ec-p256', ref.publicKey, TBS, sig)).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('has the KMS self-sign a root with Certify (exact published request), returning the certificate DER', async () => {
    const b = createKmipBackend({ url: r.url });
    try {
      const ref = await b.generateKey({ keyType: 'rsa-2048', label: 'pki-root-ca-key' });
      const start = r.requests.length;
      const out = await b.certify({
        keyUri: ref.uri,
        subject: { cn: 'Example Root CA', o: 'Example', c: 'FR' },
        validityDays: 3650,
      });
      expect(out.certificateUid).toBe(uidOfFixture('certify.json', 'UniqueIdentifier'));
      expect(Buffer.from(out.certificateDer).equals(certDer)).toBe(true);
      expect(r.requests[start]!.body).toEqual(loadFixture('certify.json').request);
      expect(kid(r.requests[start + 1]!.body as Json, 'KeyFormatType')!.value).toBe('X509');
    } finally {
      await b.close();
    }
  });

  it('offers certifyRoot on Cosmian (http) only: creates a pair, has it self-certified, can discard both', async () => {
    const binary = createKmipBackend({
      url: 'kmip://127.0.0.1:9',
      caPem: 'x',
      clientCertPem: 'x',
      clientKeyPem: 'x',
    });
    expect(hasCapability(binary, 'certifyRoot')).toBe(false);
    expect(hasCapability(binary, 'destroy')).toBe(true);
    await binary.close();
    const b = createKmipBackend({ url: r.url });
    try {
      if (!hasCapability(b, 'certifyRoot')) throw new Error('a Cosmian backend must offer certifyRoot');
      const start = r.requests.length;
      const root = await b.certifyRoot({
        keyType: 'rsa-2048',
        label: 'root via capability',
        subject: [
          { type: 'C', value: 'FR' },
          { type: 'O', value: 'Example' },
          { type: 'CN', value: 'Example Root CA' },
        ],
        validityDays: 3650,
        pathLen: 1,
        keyUsage: ['keyCertSign', 'cRLSign'],
      });
      expect(Buffer.from(root.certificateDer).equals(certDer)).toBe(true);
      expect(root.certificateId).toBe(uidOfFixture('certify.json', 'UniqueIdentifier'));
      expect(Buffer.from(root.signer.publicKey).equals(fixtureSpki())).toBe(true);
      expect(nodeVerify('rsa-2048', root.signer.publicKey, TBS, await root.signer.sign(TBS))).toBe(true);
      const seen = r.requests.slice(start).map((q) => (q.body as Json).tag);
      expect(seen).toEqual(['CreateKeyPair', 'Get', 'Certify', 'Get', 'Sign']);
      const certify = r.requests[start + 2]!.body as Json;
      expect(r.requests[start + 2]!.valid).toBe(true);
      expect(JSON.stringify(certify)).toContain(
        Buffer.from('basicConstraints=critical,CA:TRUE,pathlen:1').toString('hex').toUpperCase(),
      );
      const before = r.requests.length;
      await root.discard();
      const removal = r.requests.slice(before).map((q) => (q.body as Json).tag);
      expect(removal).toEqual(['Revoke', 'Destroy', 'Revoke', 'Destroy', 'Revoke', 'Destroy']);
      await expectPkiError(root.signer.sign(TBS), 'kms.key_not_found', false);
      // a subject the KMS cannot express is refused before any key exists
      const quiet = r.requests.length;
      await expectPkiError(
        b.certifyRoot({
          keyType: 'rsa-2048',
          subject: [
            { type: 'DC', value: 'example' },
            { type: 'CN', value: 'Root' },
          ],
          validityDays: 10,
          pathLen: null,
          keyUsage: [],
        }),
        'input.invalid',
        false,
      );
      expect(r.requests.length).toBe(quiet);
    } finally {
      await b.close();
    }
  });

  it('certifies a CSR sent as CertificateRequestValue (DER) with its CertificateRequestType', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkim-kmip-csr-'));
    const b = createKmipBackend({ url: r.url });
    try {
      const gen = await run('openssl', [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'k.pem'),
        '-subj',
        '/CN=sub.example',
        '-outform',
        'DER',
        '-out',
        join(dir, 'req.der'),
      ]);
      expect(gen.code, gen.out).toBe(0);
      const csr = await readFile(join(dir, 'req.der'));
      const issuer = await b.generateKey({ keyType: 'rsa-2048', label: 'issuer' });
      const start = r.requests.length;
      await b.certify({ csrDer: csr, issuerKeyUri: issuer.uri, validityDays: 365 });
      const body = r.requests[start]!.body as Json;
      expect(r.requests[start]!.valid).toBe(true);
      expect(kid(body, 'CertificateRequestType')!.value).toBe('PKCS10');
      expect(kid(body, 'CertificateRequestValue')!.value).toBe(csr.toString('hex').toUpperCase());
      expect(kid(body, 'UniqueIdentifier')).toBeUndefined();
    } finally {
      await b.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('maps a bare 422 Item_Not_Found and a ResponseMessage OperationFailed to kms.key_not_found', async () => {
    const b = createKmipBackend({ url: r.url });
    const unknown = formatKmipKeyUri({
      privateKeyUid: '00000000-dead-beef',
      publicKeyUid: '00000000-dead-bef0',
      server: new URL(r.url).host,
    });
    try {
      await expectPkiError(b.sign(unknown, 'rsa-2048', TBS), 'kms.key_not_found', false);
      await expectPkiError(b.getPublicKey(unknown), 'kms.key_not_found', false);
    } finally {
      await b.close();
    }
    const evs: Ev[] = [];
    const c = createKmipClient({
      transport: createKmipHttpTransport({ url: r.url }),
      envelope: 'message',
      events: { onOperation: (e) => evs.push(e) },
    });
    try {
      const err = await expectPkiError(c.sign('00000000-dead-beef', 'rsa-2048', TBS), 'kms.key_not_found', false);
      expect(err.message).toMatch(/Item_Not_Found/);
      expect(evs.map((e) => e.attempt)).toEqual([1]);
      expect((r.requests.at(-1)!.body as Json).tag).toBe('RequestMessage');
    } finally {
      await c.close();
    }
  });

  it('retries HTTP 503 and connection resets, succeeding on attempt 3', async () => {
    const evs: Ev[] = [];
    const b = createKmipBackend({ url: r.url, retryBaseMs: 20, events: { onOperation: (e) => evs.push(e) } });
    try {
      r.faults.push({ kind: 'status', status: 503 }, { kind: 'reset' });
      const h = await b.health();
      expect(h.ok, h.detail).toBe(true);
      expect(evs.map((e) => [e.attempt, e.outcome, e.error?.code])).toEqual([
        [1, 'failure', 'kms.unavailable'],
        [2, 'failure', 'kms.unavailable'],
        [3, 'success', undefined],
      ]);
    } finally {
      await b.close();
    }
  });

  it('never retries a final OperationFailed (exactly one attempt)', async () => {
    const evs: Ev[] = [];
    const b = createKmipBackend({ url: r.url, retryBaseMs: 20, events: { onOperation: (e) => evs.push(e) } });
    try {
      const unknown = formatKmipKeyUri({ privateKeyUid: 'nope', publicKeyUid: 'nope2', server: new URL(r.url).host });
      const before = r.requests.length;
      await expectPkiError(b.sign(unknown, 'rsa-2048', TBS), 'kms.key_not_found', false);
      expect(r.requests.length - before).toBe(1);
      expect(evs).toHaveLength(1);
    } finally {
      await b.close();
    }
  });

  it('honours the timeout: a server that never answers yields kms.timeout after 3 bounded attempts', async () => {
    const evs: Ev[] = [];
    const b = createKmipBackend({
      url: r.url,
      timeoutMs: 300,
      retryBaseMs: 10,
      events: { onOperation: (e) => evs.push(e) },
    });
    try {
      r.faults.push({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
      const t0 = Date.now();
      await expectPkiError(b.client.query(), 'kms.timeout', true);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(900);
      // the 300 ms timeout is honoured (the 30 s default would take 90 s); wide, a loaded step can take seconds
      expect(elapsed).toBeLessThan(10_000);
      expect(evs.map((e) => [e.attempt, e.error?.code])).toEqual([
        [1, 'kms.timeout'],
        [2, 'kms.timeout'],
        [3, 'kms.timeout'],
      ]);
      expect(evs.every((e) => e.durationMs >= 290 && e.durationMs < 1000)).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('reports kms.unavailable after 3 attempts when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const evs: Ev[] = [];
    const b = createKmipBackend({
      url: `http://127.0.0.1:${port}`,
      retryBaseMs: 10,
      events: { onOperation: (e) => evs.push(e) },
    });
    try {
      await expectPkiError(b.generateKey({ keyType: 'rsa-2048' }), 'kms.unavailable', true);
      expect(evs.map((e) => e.attempt)).toEqual([1, 2, 3]);
      const h = await b.health();
      expect(h.ok).toBe(false);
    } finally {
      await b.close();
    }
  });
});

describe('Cosmian API key', () => {
  let r: CosmianResponder;
  beforeAll(async () => {
    r = await startCosmianResponder({ apiKey: 'test-api-key-123' });
  });
  afterAll(async () => {
    await r.close();
  });

  it('sends Authorization: Bearer <apiKey> and maps HTTP 401 to kms.auth_failed without retrying', async () => {
    const good = createKmipBackend({ url: r.url, apiKey: 'test-api-key-123' });
    const evs: Ev[] = [];
    const wrong = createKmipBackend({ url: r.url, apiKey: 'wrong', events: { onOperation: (e) => evs.push(e) } });
    try {
      expect((await good.health()).ok).toBe(true);
      expect(r.requests.at(-1)!.authorization).toBe('Bearer test-api-key-123');
      await expectPkiError(wrong.generateKey({ keyType: 'rsa-2048' }), 'kms.auth_failed', false);
      expect(evs).toHaveLength(1);
      expect(JSON.stringify(evs)).not.toContain('test-api-key-123');
    } finally {
      await good.close();
      await wrong.close();
    }
  });
});

describe('KMIP key URIs and configuration', () => {
  it('formats and parses kmip:<uid>@<host:port>?pub=<uid> (percent-encoding odd UIDs), only kmip: URIs', () => {
    const uri = formatKmipKeyUri({ privateKeyUid: 'a b@c', publicKeyUid: 'p/1', server: 'kms.example:9998' });
    expect(uri).toBe('kmip:a%20b%40c@kms.example:9998?pub=p%2F1');
    expect(parseKmipKeyUri(uri)).toEqual({ privateKeyUid: 'a b@c', publicKeyUid: 'p/1', server: 'kms.example:9998' });
    expect(parseKmipKeyUri('software:key_1')).toBeUndefined();
    const b = createKmipBackend({ url: 'http://kms.example:9998' });
    expect(b.handles(uri)).toBe(true);
    expect(b.handles('kmip:x@moved.example:1?pub=y')).toBe(true); // the address is informational
    expect(b.handles('kmip:no-server')).toBe(false);
    expect(b.handles('pkcs11:token=a;object=b')).toBe(false);
  });

  it('reads PKIM_KMIP_* variables, returns undefined without a URL and rejects inconsistent settings', async () => {
    const files: Record<string, string> = {
      '/ca.pem': '-----BEGIN CERTIFICATE-----\nx\n',
      '/c.pem': '-----BEGIN CERTIFICATE-----\ny\n',
      '/k.pem': '-----BEGIN PRIVATE KEY-----\nz\n',
    };
    const read = (p: string): string => {
      const v = files[p];
      if (v === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      return v;
    };
    expect(kmipConfigFromEnv({}, read)).toBeUndefined();
    expect(
      kmipConfigFromEnv(
        { PKIM_KMIP_URL: 'http://127.0.0.1:9998', PKIM_KMIP_API_KEY: 'k', PKIM_KMIP_TIMEOUT_MS: '5000' },
        read,
      ),
    ).toEqual({
      url: 'http://127.0.0.1:9998',
      apiKey: 'k',
      timeoutMs: 5000,
    });
    expect(
      kmipConfigFromEnv(
        {
          PKIM_KMIP_URL: 'kmip://kms:5696',
          PKIM_KMIP_CA: '/ca.pem',
          PKIM_KMIP_CLIENT_CERT: '/c.pem',
          PKIM_KMIP_CLIENT_KEY: '/k.pem',
        },
        read,
      ),
    ).toMatchObject({
      url: 'kmip://kms:5696',
      caPem: files['/ca.pem'],
      clientCertPem: files['/c.pem'],
      clientKeyPem: files['/k.pem'],
    });
    const invalid = [
      { PKIM_KMIP_URL: 'kmip://kms:5696' },
      { PKIM_KMIP_URL: 'ftp://kms' },
      { PKIM_KMIP_URL: 'http://kms', PKIM_KMIP_CLIENT_CERT: '/c.pem' },
      { PKIM_KMIP_URL: 'http://kms', PKIM_KMIP_TIMEOUT_MS: '-1' },
      { PKIM_KMIP_URL: 'http://kms', PKIM_KMIP_CA: '/missing.pem' },
    ];
    for (const env of invalid) {
      let code = '';
      try {
        kmipConfigFromEnv(env, read);
      } catch (e) {
        code = (e as { code: string }).code;
      }
      expect(code, JSON.stringify(env)).toBe('kms.config_invalid');
    }
  });
});
