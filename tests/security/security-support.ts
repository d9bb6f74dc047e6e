// Fixtures of the security regression suite (tests/security): a real authority on a temp data dir
// (SQLite), a root and an issuing CA with software keys, and the Fastify server on 127.0.0.1.
import { sqliteDigest } from '../support/db-digest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '@pkim/server';
import type { Authority, AuthorityConfig } from '@pkim/authority';

export const FAST_SCRYPT = { N: 1024, r: 8, p: 1, keyLength: 32, saltLength: 16 };
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
  type AuthorityFixture,
} from '../../apps/server/test/server-test-support';
import type { TestCa } from '../support/ca-kit';
import { opensslCsr } from '../support/openssl-tools';

export { ACTORS };

export interface SecurityFixture {
  fx: AuthorityFixture;
  authority: Authority;
  app: FastifyInstance;
  base: string;
  /** `sec-root` and `sec-issuing` (pathLen 0) below it, as tests/support/ca-kit made and checked them */
  root: TestCa;
  int: TestCa;
  rootId: string;
  rootPem: string;
  intId: string;
  intPem: string;
  /** an operator API token (Bearer) */
  operatorToken: string;
  /** an admin API token (Bearer) */
  adminToken: string;
  /** a request through Fastify's inject (no sockets, so synchronous verifier runs cannot reset them) */
  http(
    method: string,
    url: string,
    o?: { token?: string; body?: unknown; headers?: Record<string, string>; ip?: string },
  ): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
  raw: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
  json<T = any>(): T;
}

export async function openSecurityFixture(
  opts: { server?: Parameters<typeof buildServer>[1]; listen?: boolean; authority?: Partial<AuthorityConfig> } = {},
): Promise<SecurityFixture> {
  // cheap password hashing: the suite creates many users
  const fx = await openAuthorityFixture({ auth: { scrypt: FAST_SCRYPT }, ...opts.authority });
  const { authority } = fx;
  const root = await createRootCa(authority, 'sec-root', {
    subject: { commonName: 'Security Root CA', country: 'US' },
  });
  const int = await createIssuingCa(authority, root, 'sec-issuing', {
    subject: { commonName: 'Security Issuing CA', country: 'US' },
    pathLen: 0,
  });
  const operatorToken = (await authority.auth.createToken({ name: 'sec-operator', role: 'operator' }, ACTORS.admin))
    .token;
  const adminToken = (await authority.auth.createToken({ name: 'sec-admin', role: 'admin' }, ACTORS.admin)).token;
  const app = await buildServer(authority, { logger: false, backgroundJobs: false, ...opts.server });
  const base = opts.listen ? await listen(app) : '';
  return {
    fx,
    authority,
    app,
    base,
    root,
    int,
    rootId: root.id,
    rootPem: root.pem,
    intId: int.id,
    intPem: int.pem,
    operatorToken,
    adminToken,
    async http(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let payload: string | Buffer | undefined;
      if (o.body instanceof Uint8Array) payload = Buffer.from(o.body);
      else if (typeof o.body === 'string') payload = o.body;
      else if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const r = await app.inject({ method: method as 'GET', url, headers, payload, remoteAddress: o.ip });
      return {
        status: r.statusCode,
        headers: r.headers,
        text: r.body,
        raw: r.rawPayload,
        json: () => JSON.parse(r.body),
      };
    },
    async close() {
      await app.close();
      await fx.close();
    },
  };
}

/** A fresh EC P-256 CSR for `cn` with `DNS:<cn>`. */
export function csrFor(cn: string, sans: string[] = [`DNS:${cn}`]): string {
  return opensslCsr({ keyType: 'ec-p256', subject: `/CN=${cn}`, sans }).csrPem;
}

export function bearer(token: string, json = true): Record<string, string> {
  return json
    ? { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    : { authorization: `Bearer ${token}` };
}

/** `sqliteDigest` of the fixture's SQLite file: equal digests = the refusal changed nothing */
export function databaseDigest(s: SecurityFixture): Record<string, string> {
  const db = new Database(join(s.fx.dataDir, 'pkim.db'), { readonly: true, fileMustExist: true });
  try {
    return sqliteDigest(db);
  } finally {
    db.close();
  }
}
