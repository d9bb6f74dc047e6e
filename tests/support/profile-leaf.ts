// A leaf issued with a custom profile, as openssl reads it: its key usage and extended key usage lines and its
// lifetime (notAfter − notBefore, from openssl's dates), against what the profile says; and its chain verified.
import { expect } from 'vitest';
import { openssl } from './openssl-tools';
import { opensslVerify, type OpensslPurpose } from './verifiers';

/** openssl's names of the key usages and extended key usages a test profile uses */
const KU_TEXT: Record<string, string> = {
  digitalSignature: 'Digital Signature',
  nonRepudiation: 'Non Repudiation',
  keyEncipherment: 'Key Encipherment',
  keyAgreement: 'Key Agreement',
};
const EKU_TEXT: Record<string, string> = {
  serverAuth: 'TLS Web Server Authentication',
  clientAuth: 'TLS Web Client Authentication',
  codeSigning: 'Code Signing',
  emailProtection: 'E-mail Protection',
};

export interface ProfileExpectation {
  keyUsage: string[];
  extKeyUsage: string[];
  extKeyUsageOids?: string[];
  /** notAfter − notBefore in ms, as openssl prints the dates (notBefore is backdated one minute) */
  lifetimeMs: number;
}

/** openssl verifies the chain for `purpose` and reads the profile's KU, EKU (names, then OIDs) and lifetime */
export function expectLeafOfProfile(o: {
  leafPem: string;
  chainPems: string[];
  rootPem: string;
  purpose: OpensslPurpose;
  profile: ProfileExpectation;
}): void {
  const v = opensslVerify({ leafPem: o.leafPem, chainPems: o.chainPems, rootPem: o.rootPem, purpose: o.purpose });
  expect(v.ok, v.output).toBe(true);
  const text = openssl(['x509', '-in', '@leaf.pem', '-noout', '-text', '-startdate', '-enddate'], {
    'leaf.pem': o.leafPem,
  });
  expect(text.ok, text.output).toBe(true);
  const after = (header: string) => new RegExp(`${header}:[^\\n]*\\n\\s*([^\\n]+)`).exec(text.output)?.[1]?.trim();
  expect(after('X509v3 Key Usage')).toBe(o.profile.keyUsage.map((k) => KU_TEXT[k] ?? k).join(', '));
  const eku = [...o.profile.extKeyUsage.map((k) => EKU_TEXT[k] ?? k), ...(o.profile.extKeyUsageOids ?? [])];
  expect(after('X509v3 Extended Key Usage')).toBe(eku.join(', '));
  const date = (k: string) => Date.parse(new RegExp(`^${k}=(.+)$`, 'm').exec(text.output)![1]!);
  expect(date('notAfter') - date('notBefore')).toBe(o.profile.lifetimeMs);
}
