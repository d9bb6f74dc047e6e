// Shared fixtures of the server tests: a real authority on a temp data dir (SQLite), real
// software keys, servers on 127.0.0.1 ephemeral ports.
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { TRPCError } from '@trpc/server';
import type { FastifyInstance } from 'fastify';
import { createAuthority, type Actor, type Authority, type AuthorityConfig } from '@pkim/authority';
import { appRouter, createTrpcContext } from '@pkim/server';
import { tempDir } from '../../../tests/support/openssl-tools';
import * as caKit from '../../../tests/support/ca-kit';
import { TEST_KEEP_ALIVE_MS } from '../../../tests/support/test-kit';

export const silent = pino({ level: 'silent' });

export const ACTORS = {
  admin: { id: 'usr_admin0', name: 'alice', role: 'admin' },
  operator: { id: 'usr_oper0', name: 'oscar', role: 'operator' },
  auditor: { id: 'usr_audit0', name: 'audrey', role: 'auditor' },
  requester: { id: 'usr_req0', name: 'rita', role: 'requester' },
} satisfies Record<string, Actor>;
export type RoleName = keyof typeof ACTORS;

/** tests/support/ca-kit's root CA (CN = the name, EC P-256, verified by openssl), created by ACTORS.admin. */
export const createRootCa = (authority: Authority, name: string, opts: caKit.TestCaOptions = {}) =>
  caKit.createRootCa(authority, name, { actor: ACTORS.admin, ...opts });
/** tests/support/ca-kit's issuing CA below `parent` (verified by openssl), created by ACTORS.admin. */
export const createIssuingCa = (
  authority: Authority,
  parent: caKit.TestCa,
  name: string,
  opts: Parameters<typeof caKit.createIssuingCa>[3] = {},
) => caKit.createIssuingCa(authority, parent, name, { actor: ACTORS.admin, ...opts });
export const ROLES = Object.keys(ACTORS) as RoleName[];

export interface AuthorityFixture {
  authority: Authority;
  dataDir: string;
  /** opens a second authority on the same data dir (like the CLI or another instance) */
  openSecond(extra?: Partial<AuthorityConfig>): Promise<Authority>;
  close(): Promise<void>;
}

export async function openAuthorityFixture(extra: Partial<AuthorityConfig> = {}): Promise<AuthorityFixture> {
  const tmp = tempDir('pkim-server-test-');
  const authority = await createAuthority({ dataDir: tmp.dir, logger: silent, ...extra });
  const seconds: Authority[] = [];
  return {
    authority,
    dataDir: tmp.dir,
    async openSecond(more = {}) {
      const a = await createAuthority({
        dataDir: tmp.dir,
        logger: silent,
        publicBaseUrl: extra.publicBaseUrl,
        ...more,
      });
      seconds.push(a);
      return a;
    },
    async close() {
      for (const a of seconds) await a.close().catch(() => undefined);
      await authority.close().catch(() => undefined);
      tmp.cleanup();
    },
  };
}

export function callerFor(authority: Authority, actor?: Actor) {
  return appRouter.createCaller(createTrpcContext({ authority, actor }));
}

/**
 * Listens on 127.0.0.1:<ephemeral> keeping idle sockets TEST_KEEP_ALIVE_MS (the test's fetch shares this loop:
 * test-kit.ts); returns the base URL.
 */
export async function listen(app: FastifyInstance): Promise<string> {
  app.server.keepAliveTimeout = TEST_KEEP_ALIVE_MS;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** Awaits a rejected tRPC call and returns the TRPCError. */
export async function trpcError(p: Promise<unknown>): Promise<TRPCError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TRPCError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** pkiCode as the errorFormatter puts it into `error.data` (the PkiError in the cause chain). */
export function pkiCodeOf(e: TRPCError): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur; i++) {
    if ((cur as { code?: unknown; kind?: unknown }).kind && typeof (cur as { code?: unknown }).code === 'string')
      return (cur as { code: string }).code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
