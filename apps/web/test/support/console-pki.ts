// The PKI the console's certificate e2e files start from when the page under test is not the one that makes it:
// the same root and name-constrained intermediate the CA wizard makes in console-ca-e2e.test.ts, leaf certificates
// and users, created through the authority the console serves and checked by openssl before any test uses them (the
// CAs by tests/support/ca-kit.ts, as every other test's).
import type { RunningServer } from '@pkim/server';
import { createIssuingCa, createRootCa } from '../../../../tests/support/ca-kit';
import { opensslVerify } from '../../../../tests/support/verifiers';

type ConsoleAuthority = RunningServer['authority'];
type CaActor = Parameters<ConsoleAuthority['cas']['create']>[1];

/** The administrator the tests act as when they call the authority directly. */
export const E2E_ADMIN = { id: 'usr_e2e', name: 'e2e', role: 'admin' as const };
/** The password of every user the console e2e files add. */
export const PASSWORD = 'correct-horse-battery-42';

/**
 * `e2e-root` (EC P-384, O=PKI Manager E2E, C=US) and `e2e-issuing` below it (EC P-256, pathLen 0, DNS names under
 * example.com only): what the wizard test makes in the console. openssl verifies the chain and reads the key types,
 * the path length and the name constraints in the certificates.
 */
export async function createE2eHierarchy(authority: ConsoleAuthority) {
  const root = await createRootCa(authority, 'e2e-root', {
    subject: { commonName: 'E2E Root CA', organization: 'PKI Manager E2E', country: 'US' },
    keyType: 'ec-p384',
    actor: E2E_ADMIN,
  });
  const int = await createIssuingCa(authority, root, 'e2e-issuing', {
    subject: { commonName: 'E2E Issuing CA' },
    pathLen: 0,
    nameConstraints: { permittedDns: ['.example.com', 'example.com'] },
    actor: E2E_ADMIN,
  });
  return { root, int };
}

/**
 * A root and an issuing CA below it (EC P-256), named `<name> Root` and `<name> Issuing`, created through the
 * authority the console serves and checked by openssl: the setup the batch, bulk, renewal and Vault e2e files start
 * from.
 */
export async function createRootAndIssuingCa(
  authority: ConsoleAuthority,
  name: string,
  actor: CaActor,
  issuing: { pathLen?: number } = {},
) {
  const root = await createRootCa(authority, `${name} Root`, { actor });
  const sub = await createIssuingCa(authority, root, `${name} Issuing`, { ...issuing, actor });
  return { root, issuing: sub, rootPem: root.pem, issuingPem: sub.pem };
}

/**
 * A TLS server certificate for `commonName` (its only DNS name) with a server-generated key, verified by openssl —
 * valid `validityMs` (the profile's default without it), checked at `checkAt` (epoch ms; default now: pass the
 * server clock's time for a certificate already expired in real time).
 */
export async function issueServerCertificate(
  authority: ConsoleAuthority,
  hierarchy: Awaited<ReturnType<typeof createE2eHierarchy>>,
  commonName: string,
  opts: { validityMs?: number; checkAt?: number } = {},
) {
  const issued = await authority.issuance.issueWithKey(
    {
      caId: hierarchy.int.id,
      profile: 'tls-server',
      subject: { commonName },
      sans: { dns: [commonName] },
      keyType: 'ec-p256',
      ...(opts.validityMs !== undefined ? { validityMs: opts.validityMs } : {}),
    },
    E2E_ADMIN,
  );
  const v = opensslVerify({
    leafPem: issued.certificatePem,
    chainPems: [hierarchy.int.pem],
    rootPem: hierarchy.root.pem,
    purpose: 'sslserver',
    hostname: commonName,
    ...(opts.checkAt !== undefined ? { atTime: Math.floor(opts.checkAt / 1000) } : {}),
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
