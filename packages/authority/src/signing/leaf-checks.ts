/**
 * The checks of a leaf's subject, names and key once its CA, profile and lifetime are settled — SAN limits of the
 * profile on what was asked for → the names cleaned → the channels' validators → key type → name patterns → the
 * profile's key types (each check is in provisioner-policy.ts) — and the plan input of a leaf from a CSR. One
 * implementation for both places that run them: the signing pipeline on the main thread, and a worker thread's
 * `csr-leaf` job (compute-jobs.ts), which decodes the CSR, checks it and signs in one job. Pure functions of data: the
 * worker gets the provisioners as data, which is why only requests whose channels have no validator functions go to
 * that job.
 */
import {
  checkSanLimits,
  type CertificatePlanInput,
  type CsrContent,
  type DistinguishedName,
  type SubjectAltNames,
} from '@pkim/core';
import type { KeyType } from '@pkim/shared';
import type { LeafFacts, Provisioner } from './provisioner';
import { checkKeyType, checkNames, checkProfileKeyType, runValidators } from './provisioner-policy';

/** the names of a leaf: trimmed, empty ones dropped, duplicates removed, in the order given */
export function cleanSans(s: SubjectAltNames | undefined): SubjectAltNames {
  const out: SubjectAltNames = {};
  for (const k of ['dns', 'ip', 'uri', 'email'] as const) {
    const v = s?.[k]?.map((x) => x.trim()).filter((x) => x.length > 0);
    if (v?.length) out[k] = [...new Set(v)];
  }
  return out;
}

/**
 * The checks of a leaf's subject, names and key type for the provisioners `all`; returns the cleaned names.
 * `requested` are the names as asked for: the SAN limits judge them duplicates included (10,000 copies of one name
 * are 10,000 SANs).
 */
export function checkLeafSubject(
  all: Provisioner[],
  facts: Omit<LeafFacts, 'sans'>,
  requested: SubjectAltNames | undefined,
): SubjectAltNames {
  checkSanLimits(facts.profile, requested ?? {});
  const sans = cleanSans(requested);
  // the facts object only for channels that have validators (most have none: a copy per request saved)
  if (all.some((p) => p.policy.validators?.length)) runValidators(all, { ...facts, sans });
  checkKeyType(all, facts.keyType);
  checkNames(all, facts.subject, sans);
  checkProfileKeyType(facts.profile, facts.keyType); // before a key is made (the linter's check would come after)
  return sans;
}

/** A leaf from a CSR as the main thread has decided it: everything but what the CSR itself gives. */
export interface CsrLeaf {
  /** the plan input without the subject, names and key (the CSR's, or the request's) */
  input: Omit<CertificatePlanInput, 'subject' | 'sans' | 'publicKey'>;
  /** the request's subject and names, when it gives them instead of the CSR's */
  subject?: DistinguishedName;
  sans?: SubjectAltNames;
  /** the request's provisioners (the actor's, the channel's) */
  provisioners: Provisioner[];
  /** what a validator sees besides the subject, names, key type and profile */
  facts: Pick<LeafFacts, 'ca' | 'lifetimeMs' | 'source'>;
}

/** The leaf a CSR gives, checked: its plan input and what the certificate row records. */
export interface CheckedCsrLeaf {
  input: CertificatePlanInput;
  subject: DistinguishedName;
  sans: SubjectAltNames;
  keyType: KeyType;
}

/** the checks of a decoded CSR (proof of possession verified) for `leaf`, and the plan input of its certificate */
export function checkCsrLeaf(csr: CsrContent, leaf: CsrLeaf): CheckedCsrLeaf {
  const subject = leaf.subject ?? csr.subject;
  const { input } = leaf;
  const { ca, lifetimeMs, source } = leaf.facts;
  const facts = { ca, lifetimeMs, source, profile: input.profile, subject, keyType: csr.keyType };
  const sans = checkLeafSubject(leaf.provisioners, facts, leaf.sans ?? csr.sans);
  return {
    input: {
      profile: input.profile,
      subject,
      sans,
      publicKey: csr.publicKey,
      issuer: input.issuer,
      selfSignedKeyType: input.selfSignedKeyType,
      serial: input.serial,
      notBefore: input.notBefore,
      notAfter: input.notAfter,
      pathLen: input.pathLen,
      nameConstraints: input.nameConstraints,
      ancestorNameConstraints: input.ancestorNameConstraints,
      permitBeyondIssuer: input.permitBeyondIssuer,
      crlDistributionPoints: input.crlDistributionPoints,
      ocspUrls: input.ocspUrls,
      caIssuersUrls: input.caIssuersUrls,
    },
    subject,
    sans,
    keyType: csr.keyType,
  };
}
