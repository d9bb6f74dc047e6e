import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { type KeyType } from '@pkim/shared';
import {
  buildCsr,
  computeSki,
  decodeCsr,
  decodeCsrAsync,
  decodeCsrContent,
  decodeCsrContentAsync,
  readCsrUnverified,
  verifyCsrContentAsync,
  fromPem,
  keyTypeFromSpki,
  parseCertificate,
  toPem,
  verifySignature,
} from '../src/index';
import { opensslRaw, withTempDir } from '../../../tests/support/verifiers';
import { cachedKey, codeOf } from './helpers';

/** A CSR made by `openssl req` (independent encoder). */
function opensslCsr(keyArgs: string[], subj: string, san?: string): { pem: string; keyPem: string } {
  return withTempDir((dir) => {
    const key = join(dir, 'k.pem');
    const gen = opensslRaw(['genpkey', ...keyArgs, '-out', key]);
    if (gen.status !== 0) throw new Error(gen.output);
    const args = ['req', '-new', '-key', key, '-subj', subj, '-out', join(dir, 'r.pem')];
    if (san) args.push('-addext', `subjectAltName=${san}`);
    const r = opensslRaw(args);
    if (r.status !== 0) throw new Error(r.output);
    return { pem: readFileSync(join(dir, 'r.pem'), 'utf8'), keyPem: readFileSync(key, 'utf8') };
  });
}

let ecCsr: string;
let rsaCsr: string;
let edCsr: string;
beforeAll(() => {
  ecCsr = opensslCsr(
    ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    '/C=US/O=Example Inc/CN=www.example.com',
    'DNS:www.example.com,DNS:example.com,IP:192.0.2.1,URI:spiffe://example.com/x,email:ops@example.com',
  ).pem;
  rsaCsr = opensslCsr(
    ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    '/O=Example/CN=rsa.example.com',
    'DNS:rsa.example.com',
  ).pem;
  edCsr = opensslCsr(['-algorithm', 'ED25519'], '/CN=ed.example.com').pem;
});

describe('decodeCsr', () => {
  it('decodes an EC P-384 CSR made by openssl req, with subject and requested SANs', () => {
    const csr = decodeCsr(ecCsr);
    expect(csr.keyType).toBe('ec-p384');
    expect(csr.subjectDn).toBe('CN=www.example.com,O=Example Inc,C=US');
    expect(csr.subject[0]).toEqual({ type: 'C', value: 'US' });
    expect(csr.sans).toEqual({
      dns: ['www.example.com', 'example.com'],
      ip: ['192.0.2.1'],
      uri: ['spiffe://example.com/x'],
      email: ['ops@example.com'],
    });
    expect(keyTypeFromSpki(csr.publicKey)).toBe('ec-p384');
  });
  it('decodes RSA and Ed25519 CSRs from PEM and from DER', () => {
    expect(decodeCsr(rsaCsr)).toMatchObject({
      keyType: 'rsa-2048',
      subjectDn: 'CN=rsa.example.com,O=Example',
      sans: { dns: ['rsa.example.com'] },
    });
    const der = fromPem(edCsr, 'CERTIFICATE REQUEST');
    expect(decodeCsr(der)).toMatchObject({ keyType: 'ed25519', sans: {} });
  });
  it('rejects a CSR whose signature does not match its key (flipped signature byte)', () => {
    const der = new Uint8Array(fromPem(ecCsr));
    der[der.length - 5]! ^= 0x01;
    expect(codeOf(() => decodeCsr(der))).toBe('csr.invalid_signature');
  });
  it('rejects a CSR whose subject was altered after signing', () => {
    const der = new Uint8Array(fromPem(rsaCsr));
    const i = Buffer.from(der).indexOf(Buffer.from('rsa.example.com'));
    der[i] = 'R'.charCodeAt(0);
    expect(codeOf(() => decodeCsr(der))).toBe('csr.invalid_signature');
  });
  it.each([
    ['garbage bytes', () => new Uint8Array(Buffer.from('this is not a csr at all'))],
    ['truncated DER', () => fromPem(ecCsr).subarray(0, 100)],
    ['a wrong PEM label', () => ecCsr.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE')],
    ['empty input', () => ''],
    [
      'a certificate instead of a CSR (DER)',
      () => fromPem(toPem(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]), 'X'), 'X'),
    ],
  ])('rejects %s as csr.invalid', (_l, make) => {
    expect(codeOf(() => decodeCsr(make()))).toBe('csr.invalid');
  });
  it('decodeCsrAsync (signature checked on the thread pool) gives the same result and the same refusals', async () => {
    for (const pem of [ecCsr, rsaCsr, edCsr]) expect(await decodeCsrAsync(pem)).toEqual(decodeCsr(pem));
    const flipped = new Uint8Array(fromPem(ecCsr));
    flipped[flipped.length - 5]! ^= 0x01;
    await expect(decodeCsrAsync(flipped)).rejects.toMatchObject({ code: 'csr.invalid_signature' });
    const altered = new Uint8Array(fromPem(rsaCsr));
    altered[Buffer.from(altered).indexOf(Buffer.from('rsa.example.com'))] = 'R'.charCodeAt(0);
    await expect(decodeCsrAsync(altered)).rejects.toMatchObject({ code: 'csr.invalid_signature' });
    const edFlipped = new Uint8Array(fromPem(edCsr, 'CERTIFICATE REQUEST'));
    edFlipped[edFlipped.length - 3]! ^= 0x80;
    await expect(decodeCsrAsync(edFlipped)).rejects.toMatchObject({ code: 'csr.invalid_signature' });
    await expect(decodeCsrAsync('not a csr')).rejects.toMatchObject({ code: 'csr.invalid' });
  });
  it('decodeCsrContent(Async) (no DER copy, no subject string): the content of decodeCsr, same refusals', async () => {
    for (const pem of [ecCsr, rsaCsr, edCsr]) {
      const { subject, publicKey, keyType, sans } = decodeCsr(pem);
      expect(await decodeCsrContentAsync(pem)).toEqual({ subject, publicKey, keyType, sans });
      expect(decodeCsrContent(pem)).toEqual({ subject, publicKey, keyType, sans });
    }
    const flipped = new Uint8Array(fromPem(ecCsr));
    flipped[flipped.length - 5]! ^= 0x01;
    await expect(decodeCsrContentAsync(flipped)).rejects.toMatchObject({ code: 'csr.invalid_signature' });
    expect(codeOf(() => decodeCsrContent(flipped))).toBe('csr.invalid_signature');
    const altered = new Uint8Array(fromPem(rsaCsr));
    altered[Buffer.from(altered).indexOf(Buffer.from('rsa.example.com'))] = 'R'.charCodeAt(0);
    await expect(decodeCsrContentAsync(altered)).rejects.toMatchObject({ code: 'csr.invalid_signature' });
    await expect(decodeCsrContentAsync('not a csr')).rejects.toMatchObject({ code: 'csr.invalid' });
  });
  it('verifyCsrContentAsync (a CSR read already): the same content and refusals as decodeCsrContentAsync', async () => {
    for (const pem of [ecCsr, rsaCsr, edCsr])
      expect(await verifyCsrContentAsync(readCsrUnverified(pem))).toEqual(await decodeCsrContentAsync(pem));
    const flipped = new Uint8Array(fromPem(ecCsr));
    flipped[flipped.length - 5]! ^= 0x01;
    await expect(verifyCsrContentAsync(readCsrUnverified(flipped))).rejects.toMatchObject({
      code: 'csr.invalid_signature',
    });
  });
  it('rejects an RSA-1024 CSR as csr.weak_key', () => {
    const { pem } = opensslCsr(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024'], '/CN=weak.example.com');
    expect(codeOf(() => decodeCsr(pem))).toBe('csr.weak_key');
  });
  it('rejects a P-521 CSR as csr.unsupported_key', () => {
    const { pem } = opensslCsr(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'], '/CN=p521.example.com');
    expect(codeOf(() => decodeCsr(pem))).toBe('csr.unsupported_key');
  });
});

describe('buildCsr', () => {
  it.each(['ec-p256', 'rsa-2048', 'ed25519'] as KeyType[])(
    'builds a %s CSR that openssl req -verify accepts and decodeCsr reads back',
    async (kt) => {
      const key = cachedKey(kt);
      const der = await buildCsr(
        {
          subject: [
            { type: 'O', value: 'PKIM' },
            { type: 'CN', value: 'Issuing CA 1' },
          ],
          sans: { dns: ['ca.example.com'] },
          publicKey: key.publicKey,
          keyType: kt,
        },
        key.sign,
      );
      const out = withTempDir((dir) => {
        writeFileSync(join(dir, 'r.der'), der);
        return opensslRaw(['req', '-inform', 'DER', '-in', join(dir, 'r.der'), '-verify', '-noout', '-text']);
      });
      expect(out.status, out.output).toBe(0);
      expect(out.output).toMatch(/verify OK/i);
      expect(out.output).toContain('DNS:ca.example.com');
      expect(decodeCsr(der)).toMatchObject({
        keyType: kt,
        subjectDn: 'CN=Issuing CA 1,O=PKIM',
        sans: { dns: ['ca.example.com'] },
      });
    },
  );
});

describe('keys', () => {
  it.each([
    ['rsa', { modulusLength: 2048 }, 'rsa-2048'],
    ['rsa', { modulusLength: 3072 }, 'rsa-3072'],
    ['ec', { namedCurve: 'prime256v1' }, 'ec-p256'],
    ['ec', { namedCurve: 'secp384r1' }, 'ec-p384'],
    ['ed25519', {}, 'ed25519'],
  ] as const)('identifies a node-generated %s key %j as %s', (alg, opts, expected) => {
    const { publicKey } = generateKeyPairSync(alg as 'rsa', {
      ...(opts as { modulusLength: number }),
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(keyTypeFromSpki(new Uint8Array(publicKey))).toBe(expected);
  });
  it.each([
    ['rsa', { modulusLength: 1024 }, 'csr.weak_key'],
    ['rsa', { modulusLength: 2056 }, 'csr.weak_key'],
    ['ec', { namedCurve: 'secp521r1' }, 'csr.unsupported_key'],
    ['ec', { namedCurve: 'secp256k1' }, 'csr.unsupported_key'],
    ['ed448', {}, 'csr.unsupported_key'],
    ['rsa-pss', { modulusLength: 2048 }, 'csr.unsupported_key'],
  ] as const)('rejects %s %j with %s', (alg, opts, code) => {
    const { publicKey } = generateKeyPairSync(alg as 'rsa', {
      ...(opts as { modulusLength: number }),
      publicKeyEncoding: { type: 'spki', format: 'der' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    expect(codeOf(() => keyTypeFromSpki(new Uint8Array(publicKey)))).toBe(code);
  });
  it('computes the same SKI as openssl (RFC 5280 method 1)', () => {
    withTempDir((dir) => {
      const key = join(dir, 'k.pem');
      opensslRaw(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
      const r = opensslRaw([
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-subj',
        '/CN=ski',
        '-days',
        '1',
        '-addext',
        'subjectKeyIdentifier=hash',
        '-out',
        join(dir, 'c.pem'),
      ]);
      expect(r.status, r.output).toBe(0);
      const info = parseCertificate(readFileSync(join(dir, 'c.pem'), 'utf8'));
      expect(Buffer.from(computeSki(info.publicKey)).toString('hex')).toBe(info.subjectKeyIdentifierHex);
      const spki = new Uint8Array(createPublicKey(readFileSync(key)).export({ type: 'spki', format: 'der' }));
      expect(computeSki(spki)).toEqual(computeSki(info.publicKey));
    });
  });
  it.each(['rsa-2048', 'ec-p256', 'ec-p384', 'ed25519'] as KeyType[])(
    'verifySignature accepts a %s signature and rejects tampered data',
    async (kt) => {
      const k = cachedKey(kt);
      const data = new TextEncoder().encode('hello pkim');
      const sig = await k.sign(data);
      expect(verifySignature(kt, k.publicKey, data, sig)).toBe(true);
      expect(verifySignature(kt, k.publicKey, new TextEncoder().encode('hello pkiM'), sig)).toBe(false);
    },
  );
});
