// Support for the SSH pages' e2e files (ssh-*console-e2e.test.ts): one console session per file, signed in as the
// administrator, seeded through the authority with what the earlier pages' tests make in the console (the staging
// environment and its CAs, principals, users and grants, a host), and the helpers the SSH tests share.
import { afterAll, beforeAll } from 'vitest';
import type { RunningServer } from '@pkim/server';
import { generateSshKey, makeTempDir } from '../../../../tests/support/openssh';
import { openConsole, type ConsoleSession } from './console-browser';

export const ADMIN = { id: 'usr_ssh_e2e', name: 'ssh-e2e', role: 'admin' as const };
export const AUDITOR_PASSWORD = 'auditor-password-4242';
export const HOST = 'web1.example.com';
/** the machine is shared: give the console time to re-render after a mutation */
export const POLL = { timeout: 15_000 };

type Authority = RunningServer['authority'];

/** The `staging` environment with its user CA `stg-users` and host CA `stg-hosts` (ssh-console-e2e.test.ts). */
export async function seedEnvironment(a: Authority) {
  await a.ssh.createEnvironment({ name: 'staging', description: 'pre-production hosts' }, ADMIN);
  await a.ssh.createCa({ name: 'stg-users', type: 'user', environment: 'staging' }, ADMIN);
  await a.ssh.createCa({ name: 'stg-hosts', type: 'host', environment: 'staging' }, ADMIN);
}

/**
 * The environment, and the registry the Users test leaves (ssh-users-console-e2e.test.ts): principals `deploy` and
 * `dba`, alice granted deploy, bob granted deploy and disabled.
 */
export async function seedRegistry(a: Authority) {
  await seedEnvironment(a);
  for (const name of ['deploy', 'dba']) await a.ssh.addPrincipal({ name, description: `${name} logins` }, ADMIN);
  for (const name of ['alice', 'bob']) {
    await a.ssh.addUser({ name }, ADMIN);
    await a.ssh.grant({ user: name, principal: 'deploy' }, ADMIN);
  }
  await a.ssh.setUserDisabled('bob', true, ADMIN);
}

/** The host the Hosts test registers in staging (ssh-hosts-console-e2e.test.ts). */
export async function seedHost(a: Authority) {
  await a.ssh.addHost({ environment: 'staging', name: HOST, principals: [HOST, '10.0.0.5'] }, ADMIN);
}

/**
 * Opens the console (own server and Chromium) for the calling `describe`, seeds it, signs the administrator in, opens
 * the SSH page, and closes it all afterwards. `session`, `page` and `server` are read inside the tests (they throw
 * before `beforeAll` has run).
 */
export function useSshConsole(prefix: string, seed: (a: Authority) => Promise<void> = async () => undefined) {
  let current: ConsoleSession | undefined;
  const keys = makeTempDir(`${prefix}-keys-`);
  const session = () => {
    if (!current) throw new Error('the console is not open yet (use it inside a test)');
    return current;
  };

  beforeAll(async () => {
    current = await openConsole({ prefix });
    await seed(current.server.authority);
    await current.signIn('admin', current.adminPassword);
    await current.nav('SSH');
    await current.page.getByRole('heading', { name: 'SSH certificate authority' }).waitFor();
  }, 240_000);

  afterAll(async () => {
    await current?.close();
    keys.cleanup();
  });

  return {
    get session() {
      return session();
    },
    get page() {
      return session().page;
    },
    get server() {
      return session().server;
    },
    keys,
    shot: (name: string) => session().shot(name),
    /** opens a tab of the SSH page by its label */
    tab: (name: string) => session().page.getByRole('tab', { name, exact: true }).click(),
    dialog: () => session().page.getByRole('dialog'),
    /** the error code a refused call fails with, or 'issued' */
    failure: (p: Promise<unknown>) =>
      p.then(
        () => 'issued',
        (e: unknown) => (e as { code?: string }).code,
      ),
    /** a user certificate from stg-users for a fresh key */
    signUser: (user: string, principals: string[], host?: string) =>
      session().server.authority.ssh.sign(
        {
          ca: 'stg-users',
          type: 'user',
          publicKey: generateSshKey(keys.dir, `${user}-${Date.now()}`).pub,
          user,
          principals,
          host,
        },
        ADMIN,
      ),
  };
}
