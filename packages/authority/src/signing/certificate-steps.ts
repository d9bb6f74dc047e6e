/**
 * The certificate steps of the one signing pipeline: plan → lint once → encode → sign → verify → assemble. Both paths
 * run this function: the main thread (signing-pipeline.ts, any key backend: software, PKCS#11, KMIP) and a worker
 * thread (compute-jobs.ts, a lent software key). A new step goes here, so neither path can miss it; the pipeline
 * decides everything else (CA, policy, serial, times, persistence). Loaded with the pipeline, not by commands that
 * never sign.
 */
import { hash } from 'node:crypto';
import { PkiError, type KeyType } from '@pkim/shared';
import {
  assembleCertificate,
  assertLintClean,
  encodeTbsCertificate,
  formatDn,
  lintCertificate,
  planCertificate,
  toPem,
  verifySignature,
  verifySignatureAsync,
  type CertificatePlanInput,
  type DistinguishedName,
  type SubjectAltNames,
} from '@pkim/core';
import { commonNameOf } from '../subject-input';

/** The CA key that signs a planned certificate. */
export interface CertificateSigner {
  /** SubjectPublicKeyInfo DER of the CA key: the assembled certificate is verified against it */
  publicKey: Uint8Array;
  /** the signature of the TBSCertificate bytes */
  sign(tbs: Uint8Array): Promise<Uint8Array> | Uint8Array;
  /**
   * verify on this thread (a worker thread, the unit of parallelism of the compute pool); otherwise the check runs
   * on libuv's thread pool and the main thread stays free
   */
  verifyInThread?: boolean;
}

export interface SignedCertificate {
  der: Uint8Array;
  subjectKeyIdentifier: Uint8Array;
}

/** plan → lint once (at `now`) → encode → sign → verify → assemble; `what` names the certificate in the error */
export async function signCertificatePlan(
  input: CertificatePlanInput,
  now: number,
  signer: CertificateSigner,
  what: string,
): Promise<SignedCertificate> {
  const plan = planCertificate(input);
  assertLintClean(lintCertificate(plan, { now }));
  const tbs = encodeTbsCertificate(plan);
  const signature = await signer.sign(tbs);
  // the signature over the TBS bytes just encoded, with the signer's (cached) public key: re-reading the assembled
  // certificate would only find these same bytes again (assembly is tested against openssl, GnuTLS and Go)
  const verified = signer.verifyInThread
    ? verifySignature(plan.issuerKeyType, signer.publicKey, tbs, signature)
    : await verifySignatureAsync(plan.issuerKeyType, signer.publicKey, tbs, signature);
  if (!verified) throw new PkiError('certificate.verify_failed', `${what} does not verify against the signing key`);
  const der = assembleCertificate(tbs, plan.issuerKeyType, signature);
  return { der, subjectKeyIdentifier: plan.subjectKeyIdentifier };
}

/**
 * What a leaf's certificate row records of the signed certificate and its subject: the PEM, the SHA-256 fingerprint,
 * the subject as an RFC 4514 string and its CN. Made where the certificate was signed — in a worker thread for a
 * worker job, so the main thread (the serial bound of issuance) neither hashes, encodes nor formats, and neither the
 * DER nor the subject's object graph is cloned back to it —, else on the calling thread; the same function either way.
 */
export interface LeafRecord {
  certificatePem: string;
  fingerprintSha256: string;
  subjectDn: string;
  commonName: string | null;
}

export function leafRecord(der: Uint8Array, subject: DistinguishedName): LeafRecord;
/** the same with the CSR's names and key type as checked (a worker's `csr-leaf` answer): one object, no copy */
export function leafRecord(
  der: Uint8Array,
  subject: DistinguishedName,
  sans: SubjectAltNames,
  keyType: KeyType,
): LeafRecord & { sans: SubjectAltNames; keyType: KeyType };
export function leafRecord(
  der: Uint8Array,
  subject: DistinguishedName,
  sans?: SubjectAltNames,
  keyType?: KeyType,
): LeafRecord & { sans?: SubjectAltNames; keyType?: KeyType } {
  const certificatePem = toPem(der, 'CERTIFICATE');
  const fingerprintSha256 = hash('sha256', der, 'hex'); // one-shot: no Hash object per certificate
  const subjectDn = formatDn(subject);
  const commonName = commonNameOf(subject);
  if (sans === undefined || keyType === undefined) return { certificatePem, fingerprintSha256, subjectDn, commonName };
  return { certificatePem, fingerprintSha256, subjectDn, commonName, sans, keyType };
}
