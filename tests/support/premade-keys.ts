// Pre-made RSA keys (tests/fixtures/test-keys) for tests whose subject is not the key's generation: an RSA-4096 key
// took 1–5 s of CPU to generate (the issuance matrix made six RSA keys per run). A test about generating keys
// generates them; a test about what is signed with a key of a type takes one of these.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli-runner';

/** the RSA sizes there are keys of, two each */
export const PREMADE_RSA_BITS = [2048, 3072, 4096] as const;
export type PremadeRsaBits = (typeof PREMADE_RSA_BITS)[number];

/**
 * pre-made RSA key `n` (1 or 2) of `bits`: its SubjectPublicKeyInfo (DER) and PKCS#8 PEM, as core's generateKeyPair
 * answers them. Two calls with the same arguments give the same key.
 */
export function premadeRsaKey(bits: PremadeRsaBits, n: 1 | 2): { publicKey: Uint8Array; privateKeyPem: string } {
  const privateKeyPem = readFileSync(join(REPO_ROOT, 'tests/fixtures/test-keys', `rsa-${bits}-${n}.pem`), 'utf8');
  const key = createPrivateKey(privateKeyPem);
  if (key.asymmetricKeyType !== 'rsa' || key.asymmetricKeyDetails?.modulusLength !== bits) {
    throw new Error(`tests/fixtures/test-keys/rsa-${bits}-${n}.pem is not an RSA-${bits} key`);
  }
  const publicKey = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  return { publicKey, privateKeyPem };
}
