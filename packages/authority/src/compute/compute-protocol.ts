/**
 * What crosses the thread boundary between the compute pool and its workers: the jobs, their results and errors.
 * Types and two small functions only, so the pool (loaded by every command through the authority) does not load
 * the certificate and OCSP encoders that the jobs themselves run (compute-jobs.ts, loaded in the workers).
 */
import { PkiError, type KeyType } from '@pkim/shared';
import type { CertificatePlanInput, DecodedCsr, OcspResponseInput } from '@pkim/core';
import type { LeafRecord, SignedCertificate } from '../signing/certificate-steps';
import type { CheckedCsrLeaf, CsrLeaf } from '../signing/leaf-checks';

/** The CA key a job signs with: the worker holds it when its backend lent it (KeyLender). */
export interface JobKey {
  uri: string;
  keyType: KeyType;
  /** SubjectPublicKeyInfo DER (the signature is verified against it) */
  publicKey: Uint8Array;
}

export type ComputeJob =
  /** decode a CSR and check its proof of possession */
  | { kind: 'csr'; csr: string | Uint8Array }
  /** plan → lint → encode → sign → verify → assemble one certificate */
  | { kind: 'certificate'; input: CertificatePlanInput; now: number; key: JobKey; what: string }
  /**
   * a leaf from a CSR in one job: decode it and check its proof of possession, the leaf checks (leaf-checks.ts),
   * then the certificate steps
   */
  | { kind: 'csr-leaf'; csr: string | Uint8Array; leaf: CsrLeaf; now: number; key: JobKey; what: string }
  /** a leaf with a key generated for it in one job: generate the key pair, then the certificate steps */
  | {
      kind: 'key-leaf';
      keyType: KeyType;
      input: Omit<CertificatePlanInput, 'publicKey'>;
      now: number;
      key: JobKey;
      what: string;
    }
  /** sign one OCSP response */
  | { kind: 'ocsp'; input: OcspResponseInput; key: JobKey };

export interface ComputeResults {
  csr: DecodedCsr;
  certificate: SignedCertificate;
  'csr-leaf': CsrLeafSigned;
  'key-leaf': KeyLeafSigned;
  ocsp: Uint8Array;
}

/**
 * a leaf signed from a CSR: what its row records of the certificate and the subject (leafRecord, made where it was
 * signed), and the CSR's names and key type as checked
 */
export type CsrLeafSigned = LeafRecord & Pick<CheckedCsrLeaf, 'sans' | 'keyType'>;

/** a leaf signed with a key generated for it: its row's record and the key pair (the private key returned once) */
export type KeyLeafSigned = LeafRecord & { publicKey: Uint8Array; privateKeyPem: string };

export type ComputeResult = ComputeResults[ComputeJob['kind']];

/** The answer to one job; a worker sends the answers of one turn of its event loop together (`{ results }`). */
export type JobOutcome = { id: number; ok: true; result: ComputeResult } | { id: number; ok: false; error: JobError };

/** An error as it crosses the thread boundary. */
export interface JobError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export function toJobError(e: unknown): JobError {
  if (e instanceof PkiError) return { code: e.code, message: e.message, details: e.details };
  return { code: 'internal.error', message: e instanceof Error ? e.message : String(e) };
}

export function fromJobError(e: JobError): PkiError {
  return new PkiError(e.code, e.message, e.details ? { details: e.details } : {});
}
