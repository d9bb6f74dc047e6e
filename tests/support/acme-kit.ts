// Shared fixtures of the ACME tests: a root + intermediate CA with ACME enabled on the intermediate, a
// server on 127.0.0.1:<ephemeral>, free ports for the clients' challenge listeners, and real ACME clients
// (certbot, lego) run asynchronously (the server answers from this process).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createAuthority, type Authority } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import type * as Jose from 'jose';
import { requireBinary } from './verifiers';
import { TEST_ADMIN, TEST_KEEP_ALIVE_MS, silentLogger } from './test-kit';

/** A TCP port free right now on 127.0.0.1 (for a client's challenge listener). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  code: number;
  output: string;
}

/** Runs a program without blocking the event loop; never throws on a non-zero exit. */
export function runAsync(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  requireBinary(cmd);
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, cwd: opts.cwd, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

export interface AcmeFixture {
  authority: Authority;
  app: FastifyInstance;
  base: string;
  rootId: string;
  rootPem: string;
  caId: string;
  caPem: string;
  /** the API's `directoryUrl` of the ACME CA (`${base}/acme/${caId}/directory`) */
  directoryUrl: string;
  http01Port: number;
  tlsAlpn01Port: number;
  work: string;
  close(): Promise<void>;
}

/**
 * Root → intermediate ("ACME CA"), ACME enabled on the intermediate with `enable` options; the server validates
 * http-01 on `http01Port` and tls-alpn-01 on `tlsAlpn01Port` of the client (PKIM_ACME_*_PORT).
 */
export async function openAcmeFixture(
  enable: { allowDns?: string[]; allowIps?: string[]; requireEab?: boolean; ordersPerHour?: number } = {},
  env: Record<string, string> = {},
): Promise<AcmeFixture> {
  const work = mkdtempSync(join(tmpdir(), 'pkim-acme-'));
  const http01Port = await freePort();
  const tlsAlpn01Port = await freePort();
  const authority = await createAuthority({
    dataDir: join(work, 'data'),
    logger: silentLogger,
    env: {
      ...process.env,
      PKIM_ACME_HTTP01_PORT: String(http01Port),
      PKIM_ACME_TLSALPN01_PORT: String(tlsAlpn01Port),
      PKIM_ACME_VALIDATION_TIMEOUT_MS: '5000',
      // a failing challenge is retried (RFC 8555 §8.2): quickly in tests
      PKIM_ACME_VALIDATION_RETRY_MS: '50',
      ...env,
    },
  });
  const root = await authority.sign(
    { kind: 'root-ca', name: 'ACME Test Root', subject: 'CN=ACME Test Root,O=PKIM Tests', keyType: 'ec-p256' },
    { actor: TEST_ADMIN },
  );
  const ca = await authority.sign(
    {
      kind: 'intermediate-ca',
      parent: root.ca.id,
      name: 'ACME CA',
      subject: 'CN=ACME Issuing CA,O=PKIM Tests',
      keyType: 'ec-p256',
    },
    { actor: TEST_ADMIN },
  );
  await authority.acme.enable({ ca: ca.ca.id, allowDns: ['localhost', '*.test'], ...enable }, TEST_ADMIN);
  const app = await buildServer(authority, { logger: false, backgroundJobs: false, rateLimit: false, console: false });
  app.server.keepAliveTimeout = TEST_KEEP_ALIVE_MS; // the test's fetch shares this loop (test-kit.ts)
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  // the URL every ACME client of the suite (certbot, lego, the test client) is pointed at: the one the API gives
  // (`directoryUrl` of GET /api/v1/acme/directories), so it is checked to be where the ACME directory answers
  const { token } = await authority.auth.createToken({ name: 'acme-kit', role: 'admin' }, TEST_ADMIN);
  const listed = await fetch(`${base}/api/v1/acme/directories`, { headers: { authorization: `Bearer ${token}` } });
  const { items } = (await listed.json()) as { items: { caId: string; directoryUrl: string | null }[] };
  const directoryUrl = items.find((d) => d.caId === ca.ca.id)?.directoryUrl;
  if (!directoryUrl) throw new Error(`the API gives no directoryUrl for the ACME CA: ${JSON.stringify(items)}`);
  return {
    authority,
    app,
    base,
    rootId: root.ca.id,
    rootPem: root.certificatePem!,
    caId: ca.ca.id,
    caPem: ca.certificatePem!,
    directoryUrl,
    http01Port,
    tlsAlpn01Port,
    work,
    async close() {
      await app.close();
      await authority.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Writes `content` to `<dir>/<name>` and returns the path. */
export function writeTemp(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

export type AcmeKeyPair = Awaited<ReturnType<typeof Jose.generateKeyPair>>;

/** A minimal ACME client for protocol tests (jose JWS); real clients (certbot, lego) are used for the flows. */
export interface AcmeTestClient {
  directory: Record<string, string>;
  /** account URL once registered */
  kid?: string;
  key: AcmeKeyPair;
  jwk: Jose.JWK;
  alg: 'ES256' | 'RS256' | 'EdDSA';
  nonce(): Promise<string>;
  /** signs `payload` (undefined = POST-as-GET) for `url`; `opts` overrides header fields and the nonce */
  jws(
    url: string,
    payload: unknown,
    opts?: { nonce?: string; useJwk?: boolean; key?: AcmeKeyPair; jwk?: Jose.JWK },
  ): Promise<Record<string, string>>;
  post(
    url: string,
    payload: unknown,
    opts?: { nonce?: string; useJwk?: boolean; key?: AcmeKeyPair; jwk?: Jose.JWK },
  ): Promise<AcmeHttp>;
  postRaw(url: string, body: unknown): Promise<AcmeHttp>;
}

export interface AcmeHttp {
  status: number;
  headers: Headers;

  json: any;
  text: string;
}

async function toHttp(r: Response): Promise<AcmeHttp> {
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, json, text };
}

export async function acmeTestClient(
  directoryUrl: string,
  alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256',
): Promise<AcmeTestClient> {
  const { FlattenedSign, exportJWK, generateKeyPair } = await import('jose');
  const directory = (await (await fetch(directoryUrl)).json()) as Record<string, string>;
  const key = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(key.publicKey);
  const c: AcmeTestClient = {
    directory,
    key,
    jwk,
    alg,
    async nonce() {
      const r = await fetch(directory.newNonce!, { method: 'HEAD' });
      return r.headers.get('replay-nonce')!;
    },
    async jws(url, payload, opts = {}) {
      const useKey = opts.key ?? key;
      const header: Record<string, unknown> = { alg, url, nonce: opts.nonce ?? (await c.nonce()) };
      if (opts.useJwk || !c.kid) header.jwk = opts.jwk ?? jwk;
      else header.kid = c.kid;
      if (opts.nonce === '') delete header.nonce;
      const body = payload === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
      return (await new FlattenedSign(body).setProtectedHeader(header).sign(useKey.privateKey)) as never;
    },
    async post(url, payload, opts) {
      return c.postRaw(url, await c.jws(url, payload, opts));
    },
    async postRaw(url, body) {
      return toHttp(
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/jose+json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
    },
  };
  return c;
}

/** newAccount with this client's key; sets `kid` */
export async function register(c: AcmeTestClient, payload: Record<string, unknown> = { termsOfServiceAgreed: true }) {
  const r = await c.post(c.directory.newAccount!, payload, { useJwk: true });
  if (r.status === 201 || r.status === 200) c.kid = r.headers.get('location')!;
  return r;
}

/** The prefix of every ACME problem type (RFC 8555 §6.7): `${ACME_ERROR}badNonce`… */
export const ACME_ERROR = 'urn:ietf:params:acme:error:';

/** POST-as-GET `url` with `c` every 50 ms until `until(json)` holds (at most `tries` times); that JSON */
export async function pollAcme(
  c: AcmeTestClient,
  url: string,
  until: (json: any) => boolean,
  tries = 200,
): Promise<any> {
  for (let i = 0; i < tries; i++) {
    const r = await c.post(url, undefined);
    if (until(r.json)) return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out polling ${url}`);
}

/** An external account binding (RFC 8555 §7.3.4) of `c`'s key, MACed (HS256) with the EAB key `kid`/`hmacKey`. */
export async function eabFor(c: AcmeTestClient, kid: string, hmacKey: string) {
  const { FlattenedSign } = await import('jose');
  return new FlattenedSign(new TextEncoder().encode(JSON.stringify(c.jwk)))
    .setProtectedHeader({ alg: 'HS256', kid, url: c.directory.newAccount })
    .sign(Buffer.from(hmacKey, 'base64url'));
}

/** The PEM certificates in a file, in order. */
export function pemsOf(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/**
 * Checks over HTTP that the fixture's CA reports `leafPem` revoked with `reason`: the served CRL (verified by
 * openssl, certtool and Go) lists the serial, and `openssl ocsp -url` gets a verifying "revoked" answer.
 */
export async function expectRevokedOverHttp(
  fx: AcmeFixture,
  leafPem: string,
  serialHex: string,
  reason: { crl: RegExp; ocsp: RegExp },
): Promise<void> {
  const { expect } = await import('vitest');
  const { opensslCrlVerify } = await import('./verifiers');
  const crl = await fetch(`${fx.base}/crl/${fx.caId}.crl`);
  expect(crl.status).toBe(200);
  const v = opensslCrlVerify(new Uint8Array(await crl.arrayBuffer()), fx.caPem);
  expect(v.ok, v.text).toBe(true);
  expect(v.text.replace(/:/g, '').toLowerCase()).toContain(serialHex.toLowerCase());
  expect(v.text).toMatch(reason.crl);
  const tmp = mkdtempSync(join(fx.work, 'ocsp-'));
  const o = await runAsync('openssl', [
    'ocsp',
    '-issuer',
    writeTemp(tmp, 'issuer.pem', fx.caPem),
    '-cert',
    writeTemp(tmp, 'leaf.pem', leafPem),
    '-url',
    `${fx.base}/ocsp`,
    '-CAfile',
    writeTemp(tmp, 'root.pem', fx.rootPem),
    '-verify_other',
    writeTemp(tmp, 'other.pem', fx.caPem),
    '-timeout',
    '10',
  ]);
  expect(o.output, o.output).toMatch(/Response verify OK/);
  expect(o.output, o.output).toMatch(/: revoked/);
  expect(o.output, o.output).toMatch(reason.ocsp);
}
