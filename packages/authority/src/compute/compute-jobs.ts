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

/** the CA key of a job as the certificate steps' signer: signs and verifies on this (worker) thread */
function lentSigner(key: JobKey, keyOf: (uri: string, keyType: KeyType) => Promise<KeyObject>): CertificateSigner {
  return {
    publicKey: key.publicKey,
    sign: async (tbs: Uint8Array) => signWith(await keyOf(key.uri, key.keyType), key.keyType, tbs),
    verifyInThread: true,
  };
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
export async function runJob(
  job: ComputeJob,
  keyOf: (uri: string, keyType: KeyType) => Promise<KeyObject>,
): Promise<ComputeResult> {
  switch (job.kind) {
    case 'csr':
      return decodeCsr(job.csr);
    case 'certificate':
      return signCertificatePlan(job.input, job.now, lentSigner(job.key, keyOf), job.what);
    case 'csr-leaf': {
      const { input, subject, sans, keyType } = checkCsrLeaf(decodeCsrContent(job.csr), job.leaf);
      const { der } = await signCertificatePlan(input, job.now, lentSigner(job.key, keyOf), job.what);
      return { ...leafRecord(der, subject), sans, keyType };
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
