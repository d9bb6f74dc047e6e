// The PKI the console's certificate e2e files start from when the page under test is not the one that makes it:
// the same root and name-constrained intermediate the CA wizard makes in console-ca-e2e.test.ts, leaf certificates
// and users, created through the authority the console serves and checked by openssl before any test uses them.
import type { RunningServer } from '@pkim/server';
import { opensslVerify } from '../../../../tests/support/verifiers';

type ConsoleAuthority = RunningServer['authority'];

/** The administrator the tests act as when they call the authority directly. */
export const E2E_ADMIN = { id: 'usr_e2e', name: 'e2e', role: 'admin' as const };
/** The password of every user the console e2e files add. */
export const PASSWORD = 'correct-horse-battery-42';

/**
 * `e2e-root` (EC P-384, O=PKI Manager E2E, C=US) and `e2e-issuing` below it (EC P-256, pathLen 0, DNS names under
 * example.com only): what the wizard test makes in the console. The intermediate is verified against the root.
 */
export async function createE2eHierarchy(authority: ConsoleAuthority) {
  const root = await authority.cas.create(
    {
      name: 'e2e-root',
      subject: { commonName: 'E2E Root CA', organization: 'PKI Manager E2E', country: 'US' },
      keyType: 'ec-p384',
    },
    E2E_ADMIN,
  );
  const int = await authority.cas.create(
    {
      name: 'e2e-issuing',
      subject: { commonName: 'E2E Issuing CA' },
      keyType: 'ec-p256',
      parentId: root.ca.id,
      pathLen: 0,
      nameConstraints: { permittedDns: ['.example.com', 'example.com'] },
    },
    E2E_ADMIN,
  );
  const v = opensslVerify({ leafPem: int.certificatePem!, rootPem: root.certificatePem!, purpose: 'any' });
  if (!v.ok) throw new Error(`e2e-issuing does not verify under e2e-root: ${v.output}`);
  return { root, int };
}

/** A TLS server certificate for `commonName` (its only DNS name) with a server-generated key, verified by openssl. */
export async function issueServerCertificate(
  authority: ConsoleAuthority,
  hierarchy: Awaited<ReturnType<typeof createE2eHierarchy>>,
  commonName: string,
) {
  const issued = await authority.issuance.issueWithKey(
    {
      caId: hierarchy.int.ca.id,
      profile: 'tls-server',
      subject: { commonName },
      sans: { dns: [commonName] },
      keyType: 'ec-p256',
    },
    E2E_ADMIN,
  );
  const v = opensslVerify({
    leafPem: issued.certificatePem,
    chainPems: [hierarchy.int.certificatePem!],
    rootPem: hierarchy.root.certificatePem!,
    purpose: 'sslserver',
    hostname: commonName,
  });
  if (!v.ok) throw new Error(`${commonName} does not verify: ${v.output}`);
  return issued;
}

/** Users added by the administrator, each with {@link PASSWORD}. */
export async function createUsers(
  authority: ConsoleAuthority,
  users: readonly (readonly [username: string, role: Parameters<ConsoleAuthority['auth']['createUser']>[0]['role']])[],
) {
  for (const [username, role] of users)
    await authority.auth.createUser({ username, password: PASSWORD, role }, E2E_ADMIN);
}
