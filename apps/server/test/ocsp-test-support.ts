// The PKI the OCSP tests answer for (ocsp-presigned, ocsp-sha256-subca): a root (P-384), an issuing CA below it
// (P-256, pathLen 0), both made and checked by tests/support/ca-kit (openssl), and leaves of the issuing CA.
import type { Authority } from '@pkim/authority';
import { ACTORS, createIssuingCa, createRootCa } from './server-test-support';

const HOUR = 3_600_000;

export interface OcspLeaf {
  id: string;
  serial: string;
  pem: string;
}

/** a TLS server leaf `cn` (its one DNS name) of the CA `caId`, valid `validityMs` (30 days); CRL tests use it too */
export async function ocspLeaf(
  authority: Authority,
  caId: string,
  cn: string,
  validityMs = 30 * 24 * HOUR,
): Promise<OcspLeaf> {
  const issued = await authority.issuance.issueWithKey(
    {
      caId,
      profile: 'tls-server',
      subject: { commonName: cn },
      sans: { dns: [cn] },
      keyType: 'ec-p256',
      validityMs,
    },
    ACTORS.admin,
  );
  return { id: issued.certificate.id, serial: issued.certificate.serialHex, pem: issued.certificatePem };
}

/** `<name>-root` and `<name>-issuing`, and `n` TLS server leaves `<name>-<i>.example.test` valid 30 days */
export async function ocspPki(authority: Authority, name: string, n: number) {
  const root = await createRootCa(authority, `${name}-root`, {
    subject: { commonName: `${name} Root CA` },
    keyType: 'ec-p384',
  });
  const issuing = await createIssuingCa(authority, root, `${name}-issuing`, {
    subject: { commonName: `${name} Issuing CA` },
    pathLen: 0,
  });
  const leaves: OcspLeaf[] = [];
  for (let i = 0; i < n; i++) leaves.push(await ocspLeaf(authority, issuing.id, `${name}-${i}.example.test`));
  return {
    rootPem: root.pem,
    rootId: root.id,
    issuingPem: issuing.pem,
    issuingId: issuing.id,
    /** the issuing CA certificate's serial (hex), as its parent's OCSP answers name it */
    issuingSerial: issuing.view.ca.serialHex!,
    leaves,
  };
}

export type OcspPki = Awaited<ReturnType<typeof ocspPki>>;
