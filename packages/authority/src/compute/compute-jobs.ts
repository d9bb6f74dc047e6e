/**
 * The CPU-bound steps of the signing pipeline as self-contained jobs a worker thread runs (compute-worker.ts):
 * plain data in, plain data out (structured clone), errors as `{ code, message, details }`. The pipeline decides
 * everything else (CA, policy, serial, times, persistence) on the main thread; a job only does the work that
 * needs no database and no decision.
 */
import { sign as cryptoSign, type KeyObject } from 'node:crypto';
import { KEY_TYPE_INFO, PkiError, type KeyType } from '@pkim/shared';
import { buildOcspResponse, decodeCsr, decodeCsrContent, generateKeyPair, generateKeyPairAsync } from '@pkim/core';
import { x509SignArguments } from '@pkim/keys';
import { leafRecord, signCertificatePlan, type CertificateSigner } from '../signing/certificate-steps';
import { checkCsrLeaf } from '../signing/leaf-checks';
import type { ComputeJob, ComputeResult, JobKey } from './compute-protocol';

export * from './compute-protocol';

/** signs with a lent key, synchronously: the worker thread is the unit of parallelism */
function signWith(key: KeyObject, keyType: KeyType, data: Uint8Array): Uint8Array {
  const [hash, options] = x509SignArguments(keyType, key);
  const sig = cryptoSign(hash, data, options);
  return new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength);
}

/** a lent key: the KeyObject when the worker holds it, else a promise of it (asked for, or refused) */
export type KeyOf = (uri: string, keyType: KeyType) => KeyObject | Promise<KeyObject>;

/** the signer of each CA key (by URI) with what it was made for: a CA's jobs share their key's public key object */
const signers = new Map<string, { key: JobKey; keyOf: KeyOf; signer: CertificateSigner }>();

/**
 * The CA key of a job as the certificate steps' signer: signs and verifies on this (worker) thread. One signer per
 * CA key, not per job: the pool sends a CA's public key once and the worker puts the same object into each of its
 * jobs (compute-shared.ts), so the signer is kept while the URI, key type and public key object stay the same. The
 * key itself is asked for at each signature — a destroyed key is dropped and asked for again (refused), never used —
 * and a held key signs without a promise.
 */
function lentSigner(key: JobKey, keyOf: KeyOf): CertificateSigner {
  const had = signers.get(key.uri);
  if (had?.keyOf === keyOf && had.key.publicKey === key.publicKey && had.key.keyType === key.keyType) return had.signer;
  const { uri, keyType } = key;
  const signer: CertificateSigner = {
    publicKey: key.publicKey,
    sign: (tbs: Uint8Array) => {
      const k = keyOf(uri, keyType);
      return k instanceof Promise ? k.then((held) => signWith(held, keyType, tbs)) : signWith(k, keyType, tbs);
    },
    verifyInThread: true,
  };
  if (signers.size >= 256) signers.clear(); // as many CA keys as the pool's shared values at most
  signers.set(uri, { key: { uri, keyType, publicKey: key.publicKey }, keyOf, signer });
  return signer;
}

/**
 * A leaf's key pair, in a worker: EC and Ed25519 keys (tens of µs) on this thread — the worker thread is the unit of
 * parallelism —, RSA keys (tens to hundreds of ms) on libuv's thread pool, so the worker's other jobs go on meanwhile
 */
function generateLeafKey(keyType: KeyType): Promise<{ publicKey: Uint8Array; privateKeyPem: string }> {
  if (KEY_TYPE_INFO[keyType]?.algorithm === 'rsa') return generateKeyPairAsync(keyType);
  return Promise.resolve(generateKeyPair(keyType));
}

/** Runs one job; `keyOf` gives the lent key (waiting for it to arrive the first time). */
export async function runJob(job: ComputeJob, keyOf: KeyOf): Promise<ComputeResult> {
  switch (job.kind) {
    case 'csr':
      return decodeCsr(job.csr);
    case 'certificate':
      return signCertificatePlan(job.input, job.now, lentSigner(job.key, keyOf), job.what);
    case 'csr-leaf': {
      const { input, subject, sans, keyType } = checkCsrLeaf(decodeCsrContent(job.csr), job.leaf);
      const { der } = await signCertificatePlan(input, job.now, lentSigner(job.key, keyOf), job.what);
      return leafRecord(der, subject, sans, keyType);
    }
    case 'key-leaf': {
      const pair = await generateLeafKey(job.keyType);
      const input = { ...job.input, publicKey: pair.publicKey };
      const { der } = await signCertificatePlan(input, job.now, lentSigner(job.key, keyOf), job.what);
      return { ...leafRecord(der, input.subject), ...pair };
    }
    case 'ocsp': {
      const key = await keyOf(job.key.uri, job.key.keyType);
      return buildOcspResponse(job.input, (data) => Promise.resolve(signWith(key, job.key.keyType, data)));
    }
    default:
      throw new PkiError('internal.error', `unknown compute job ${(job as { kind?: unknown }).kind as string}`);
  }
}
