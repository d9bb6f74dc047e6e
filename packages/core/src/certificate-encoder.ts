/**
 * Synchronous TBSCertificate encoding from pre-encoded pieces (see der-writer.ts for why), and
 * certificate assembly. `issueCertificate` = lint → encode → sign → assemble.
 */
import type { KeyType } from '@pkim/shared';
import type { CertificatePlan, SignFn } from './types';
import { assertLintClean, lintCertificate } from './certificate-linter';
import { dnNode } from './dn-codec';
import { DerNode, derOf, explicit, integer, integerFromBytes, signedDer, time } from './der-writer';
import { encodeExtension, encodeExtensions } from './extensions/extension-registry';
import { signatureAlgorithmDer } from './key-inspector';

export { encodeKeyUsage } from './extensions/key-usage';

const V3 = explicit(0, integer(2));

/** One Extension TLV (`extOid` is the encoded OBJECT IDENTIFIER). */
export function extension(extOid: Uint8Array, critical: boolean, value: Uint8Array): Uint8Array {
  return encodeExtension(extOid, critical, value);
}

/**
 * DER TBSCertificate for a plan (v3); the extensions come from the registry in extensions/.
 * Does not lint: call lintCertificate first (issueCertificate does).
 */
export function encodeTbsCertificate(plan: CertificatePlan): Uint8Array {
  return derOf(
    new DerNode(0x30, [
      V3,
      integerFromBytes(plan.serial),
      signatureAlgorithmDer(plan.issuerKeyType),
      plan.issuerNameDer,
      new DerNode(0x30, [time(plan.notBefore), time(plan.notAfter)]),
      dnNode(plan.subject), // written in place: subjects are unique per certificate (no cache)
      plan.publicKey,
      new DerNode(0xa3, [new DerNode(0x30, encodeExtensions(plan))]), // [3] EXPLICIT Extensions (SEQUENCE OF Extension)
    ]),
  );
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }. */
export function assembleCertificate(tbs: Uint8Array, signerKeyType: KeyType, signature: Uint8Array): Uint8Array {
  return signedDer(tbs, signatureAlgorithmDer(signerKeyType), signature);
}

/**
 * Lints (throws the first finding as PkiError, before `sign` is ever called), encodes, signs and
 * assembles. `opts.now` is the lint time; it defaults to the plan's notBefore (no clock is read).
 */
export async function issueCertificate(
  plan: CertificatePlan,
  sign: SignFn,
  opts: { now?: number } = {},
): Promise<Uint8Array> {
  assertLintClean(lintCertificate(plan, { now: opts.now ?? plan.notBefore }));
  const tbs = encodeTbsCertificate(plan);
  const signature = await sign(tbs);
  return assembleCertificate(tbs, plan.issuerKeyType, signature);
}
