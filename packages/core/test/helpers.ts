/** Test fixtures for @pkim/core: a node:crypto test signer and a small CA hierarchy builder. */
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import {
  BUILT_IN_PROFILES,
  generateKeyPair,
  generateSerial,
  issueCertificate,
  planCertificate,
  toPem,
  type CertificatePlanInput,
  type DistinguishedName,
  type Profile,
  type SignFn,
} from '../src/index';

export const DAY = 86_400_000;

export interface TestKey {
  keyType: KeyType;
  publicKey: Uint8Array;
  privateKeyPem: string;
  privateKey: KeyObject;
  /** counts how often the signer was called (to prove the linter refused before signing) */
  calls: { count: number };
  sign: SignFn;
}

/**
 * A signer wrapping a node:crypto private key (RSA PKCS#1 v1.5, ECDSA DER, Ed25519) with the key type's hash: a new
 * key, or `pair` (a pre-made one: tests/support/premade-keys.ts).
 */
export function makeTestKey(
  keyType: KeyType,
  pair: { publicKey: Uint8Array; privateKeyPem: string } = generateKeyPair(keyType),
): TestKey {
  const { publicKey, privateKeyPem } = pair;
  const privateKey = createPrivateKey(privateKeyPem);
  const calls = { count: 0 };
  const hash = KEY_TYPE_INFO[keyType].hash;
  return {
    keyType,
    publicKey,
    privateKeyPem,
    privateKey,
    calls,
    sign: (data) => {
      calls.count++;
      return new Uint8Array(nodeSign(hash, data, privateKey));
    },
  };
}

const keyCache = new Map<KeyType, TestKey>();
/** One key per type per test file (RSA generation is slow). */
export function cachedKey(keyType: KeyType): TestKey {
  let k = keyCache.get(keyType);
  if (!k) {
    k = makeTestKey(keyType);
    keyCache.set(keyType, k);
  }
  return k;
}

export interface IssuedCa {
  key: TestKey;
  der: Uint8Array;
  pem: string;
}

export async function makeRoot(
  key: TestKey,
  now: number,
  subject: DistinguishedName = [
    { type: 'C', value: 'US' },
    { type: 'O', value: 'PKIM Test' },
    { type: 'CN', value: `Test Root ${key.keyType}` },
  ],
): Promise<IssuedCa> {
  const plan = planCertificate({
    profile: BUILT_IN_PROFILES['root-ca'],
    subject,
    publicKey: key.publicKey,
    selfSignedKeyType: key.keyType,
    serial: generateSerial(),
    notBefore: now - DAY,
    notAfter: now + 3650 * DAY,
  });
  const der = await issueCertificate(plan, key.sign, { now });
  return { key, der, pem: toPem(der, 'CERTIFICATE') };
}

export async function makeIntermediate(
  parent: IssuedCa,
  key: TestKey,
  now: number,
  extra: Partial<CertificatePlanInput> = {},
): Promise<IssuedCa> {
  const plan = planCertificate({
    profile: BUILT_IN_PROFILES['intermediate-ca'],
    subject: [
      { type: 'C', value: 'US' },
      { type: 'O', value: 'PKIM Test' },
      { type: 'CN', value: `Test Intermediate ${key.keyType}` },
    ],
    publicKey: key.publicKey,
    issuer: { certificateDer: parent.der, keyType: parent.key.keyType },
    serial: generateSerial(),
    notBefore: now - DAY,
    notAfter: now + 1825 * DAY,
    ...extra,
  });
  const der = await issueCertificate(plan, parent.key.sign, { now });
  return { key, der, pem: toPem(der, 'CERTIFICATE') };
}

/** Plan input for a leaf under `issuer` (defaults: tls-server for www.example.com, 90 days). */
export function leafInput(
  issuer: IssuedCa,
  publicKey: Uint8Array,
  now: number,
  over: Partial<CertificatePlanInput> & { profile?: Profile } = {},
): CertificatePlanInput {
  return {
    profile: BUILT_IN_PROFILES['tls-server'],
    subject: [{ type: 'CN', value: 'www.example.com' }],
    sans: { dns: ['www.example.com'] },
    publicKey,
    issuer: { certificateDer: issuer.der, keyType: issuer.key.keyType },
    serial: generateSerial(),
    notBefore: now - 60_000,
    notAfter: now + 90 * DAY,
    ...over,
  };
}

/** The PkiError code `fn` throws (undefined if it does not throw). */
export const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof PkiError ? e.code : `non-PkiError: ${String(e)}`;
  }
  return undefined;
};
