// Fixtures of the Vault API tests: a real authority (SQLite, software keys), a root + intermediate CA,
// the mount `pki` bound to the intermediate, an admin API token used as X-Vault-Token, the server on 127.0.0.1.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Authority, AuthorityConfig } from '@pkim/authority';
import { buildServer } from '@pkim/server';
import { afterAll, expect } from 'vitest';
import { opensslRaw, opensslText, opensslVerify, withTempDir } from '../../../../tests/support/verifiers';
import {
  ACTORS,
  createIssuingCa,
  createRootCa,
  listen,
  openAuthorityFixture,
  type AuthorityFixture,
} from '../server-test-support';

export interface VaultFixture {
  fx: AuthorityFixture;
  authority: Authority;
  app: FastifyInstance;
  url: string;
  port: number;
  token: string;
  rootPem: string;
  intermediatePem: string;
  caId: string;
  rootCaId: string;
  close(): Promise<void>;
}

/**
 * Two instances (authorities) on one SQLite database, their clock `clock` (AuthorityConfig's): the opener a describe
 * block's tests call (as postgresInstances().two({ clock }) on PostgreSQL); the block's afterAll, registered here,
 * closes both.
 */
export function twoInstances(clock: AuthorityConfig['clock']): () => Promise<[Authority, Authority]> {
  let fx: AuthorityFixture | undefined;
  afterAll(async () => {
    await fx?.close();
  });
  return async () => {
    fx = await openAuthorityFixture({ clock });
    return [fx.authority, await fx.openSecond({ clock })];
  };
}

/** The role most tests issue under: names below example.com, max_ttl 72h (Vault's default key type rsa). */
export const WEB_ROLE = { allowed_domains: 'example.com', allow_subdomains: true, max_ttl: '72h' };

export async function openVaultFixture(
  extra: Partial<AuthorityConfig> = {},
  opts: { roles?: Record<string, Record<string, unknown>> } = {},
): Promise<VaultFixture> {
  const fx = await openAuthorityFixture(extra);
  const served = await serveVaultMount(fx.authority, opts);
  return {
    ...served,
    fx,
    async close() {
      await served.close();
      await fx.close();
    },
  };
}

/**
 * openVaultFixture's mount on an authority opened elsewhere (a PostgreSQL one: postgresInstances): the root +
 * intermediate CA, the mount `pki`, the roles, an admin token and the server; `close` closes the server only
 */
export async function serveVaultMount(
  authority: Authority,
  opts: { roles?: Record<string, Record<string, unknown>> } = {},
): Promise<Omit<VaultFixture, 'fx'>> {
  const admin = ACTORS.admin;
  const root = await createRootCa(authority, 'Vault Test Root');
  const inter = await createIssuingCa(authority, root, 'Vault Test Issuing');
  await authority.vault.mounts.mount({ path: 'pki', ca: inter.id, maxLeaseTtl: '87600h' }, admin);
  const { token } = await authority.auth.createToken({ name: 'vault admin', role: 'admin', expiresInMs: null }, admin);
  const app = await buildServer(authority, { logger: false, rateLimit: false, backgroundJobs: false });
  const url = await listen(app);
  for (const [name, params] of Object.entries(opts.roles ?? {})) {
    const written = await authority.vault.mounts.writeRole('pki', name, params, admin);
    if (!written) throw new Error(`role ${name} not written`);
  }
  return {
    authority,
    app,
    url,
    port: Number(new URL(url).port),
    token,
    rootPem: root.pem,
    intermediatePem: inter.pem,
    caId: inter.id,
    rootCaId: root.id,
    close: () => app.close(),
  };
}

export interface VaultHttpResponse {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/** One request to /v1/<path>; `token: null` sends none. */
export async function vaultCall(
  f: Pick<VaultFixture, 'url' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  opts: { token?: string | null; headers?: Record<string, string> } = {},
): Promise<VaultHttpResponse> {
  const token = opts.token === undefined ? f.token : opts.token;
  const headers: Record<string, string> = { ...opts.headers };
  if (token) headers['x-vault-token'] = token;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${f.url}/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

/** Writes raw bytes on one TCP connection and collects every response until the server closes or `until` holds. */
export function rawHttp(port: number, payload: string, until: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`raw HTTP timed out; received so far:\n${received}`));
    }, 10_000);
    socket.on('data', (d) => {
      received += d.toString('latin1');
      if (until(received)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.write(payload);
  });
}

/** The CSR with one bit of its signature flipped (still parses; proof of possession fails). */
export function corruptCsrSignature(csrPem: string): string {
  const bytes = Buffer.from(csrPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  bytes[bytes.length - 5]! ^= 0x01;
  const b64 = bytes
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n');
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A leaf issued through the mount's `web` role (`pki/issue/web`, 1 h) verifies up to the root with openssl. */
export async function expectIssuedLeafVerifies(
  f: Pick<VaultFixture, 'url' | 'token' | 'intermediatePem' | 'rootPem'>,
  cn: string,
  o: { ttl?: string; atTime?: number } = {},
): Promise<string> {
  const issued = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: cn, ttl: o.ttl ?? '1h' });
  expect(issued.status, issued.text).toBe(200);
  const v = opensslVerify({
    leafPem: `${issued.body.data.certificate}\n`,
    chainPems: [f.intermediatePem],
    rootPem: f.rootPem,
    purpose: 'sslserver',
    ...(o.atTime === undefined ? {} : { atTime: o.atTime }),
  });
  expect(v.ok, v.output).toBe(true);
  return issued.body.data.serial_number as string;
}

/** runs a python3-hvac script of this folder (Debian's /usr/bin/python3) with `args`; its stdout is JSON */
export function runHvacScript(script: string, args: string[]): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [join(import.meta.dirname, script), ...args], { timeout: 120_000 }, (err, out, e) =>
      err ? reject(new Error(`hvac failed: ${err.message}\n${e}`)) : resolve(JSON.parse(out)),
    );
  });
}

/**
 * the URLs a certificate carries as openssl prints them (CRL distribution points under `http://crl.`, AIA OCSP and CA
 * issuers): exactly those, and nothing of `notHost` (the server's own relying-party URLs)
 */
export function expectExactUrls(
  pem: string,
  urls: { issuing_certificates: string[]; crl_distribution_points: string[]; ocsp_servers: string[] },
  notHost: string,
): void {
  const text = opensslText(pem);
  const [crl, ocsp, aia] = [urls.crl_distribution_points, urls.ocsp_servers, urls.issuing_certificates];
  expect(text.match(/URI:http:\/\/crl\.[^\s]+/g) ?? []).toEqual(crl.map((u) => `URI:${u}`));
  expect(text.match(/OCSP - URI:[^\s]+/g) ?? []).toEqual(ocsp.map((u) => `OCSP - URI:${u}`));
  expect(text.match(/CA Issuers - URI:[^\s]+/g) ?? []).toEqual(aia.map((u) => `CA Issuers - URI:${u}`));
  expect(text).not.toContain(notHost);
}

/** a DER CRL as PEM */
/** the delta-CRL settings the delta tests run a mount with: auto-rebuild, a 72 h CRL, deltas every 15 min */
const DELTA_CRL_CONFIG = {
  auto_rebuild: true,
  enable_delta: true,
  expiry: '72h',
  auto_rebuild_grace_period: '12h',
  delta_rebuild_interval: '15m',
};

/** `POST <mount>/config/crl` with DELTA_CRL_CONFIG, answered 200 */
export async function enableDeltaCrl(f: Pick<VaultFixture, 'url' | 'token'>, mount = 'pki'): Promise<void> {
  const cfg = await vaultCall(f, 'POST', `${mount}/config/crl`, DELTA_CRL_CONFIG);
  expect(cfg.status, cfg.text).toBe(200);
}

export const crlPemOf = (der: Uint8Array) =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der).toString('base64')}\n-----END X509 CRL-----\n`;

/** the CRL Number `openssl crl -text` prints */
export const crlNumberOf = (text: string) => Number(/X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text)?.[1]);

/**
 * `openssl verify -crl_check [-use_deltas -extended_crl]` of a leaf of the fixture's intermediate with the CRLs given
 * (complete and delta CRLs of the intermediate)
 */
export function verifyLeafWithCrls(
  f: Pick<VaultFixture, 'rootPem' | 'intermediatePem'>,
  leafPem: string,
  crls: Uint8Array[],
  useDeltas: boolean,
): { ok: boolean; output: string } {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'root.pem'), f.rootPem);
    writeFileSync(join(dir, 'inter.pem'), f.intermediatePem);
    writeFileSync(join(dir, 'leaf.pem'), leafPem);
    const args = ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), '-crl_check'];
    // -extended_crl: without it openssl may take a delta CRL for a complete one (x509_vfy.c get_crl_score)
    if (useDeltas) args.push('-use_deltas', '-extended_crl');
    crls.forEach((c, i) => {
      writeFileSync(join(dir, `crl${i}.pem`), crlPemOf(c));
      args.push('-CRLfile', join(dir, `crl${i}.pem`));
    });
    const r = opensslRaw([...args, join(dir, 'leaf.pem')]);
    return { ok: r.status === 0, output: r.output };
  });
}

/** a raw Vault path without a token (`pki/crl`, `pki/crl/delta`): 200 and its body */
export async function vaultRaw(f: Pick<VaultFixture, 'url'>, path: string): Promise<Uint8Array> {
  const r = await fetch(`${f.url}/v1/${path}`);
  expect(r.status, path).toBe(200);
  return new Uint8Array(await r.arrayBuffer());
}

/** a leaf `<name>.example.com` issued through `pki/issue/web`: its PEM (with a newline) and serial */
export async function issueWebLeaf(
  f: Pick<VaultFixture, 'url' | 'token'>,
  name: string,
): Promise<{ pem: string; serial: string }> {
  const r = await vaultCall(f, 'POST', 'pki/issue/web', { common_name: `${name}.example.com` });
  expect(r.status, r.text).toBe(200);
  return { pem: `${r.body.data.certificate}\n`, serial: r.body.data.serial_number };
}

/**
 * a leaf of CA `ca` by another channel than Vault (REST `POST /api/v1/certificates/with-key`, an EC P-256 key):
 * `rest.example.com` under `profile`, `ttl` when given; its PEM
 */
export async function issueRestLeaf(
  f: Pick<VaultFixture, 'app' | 'token'>,
  ca: string,
  profile: string,
  ttl?: string,
): Promise<string> {
  const r = await f.app.inject({
    method: 'POST',
    url: '/api/v1/certificates/with-key',
    headers: { authorization: `Bearer ${f.token}` },
    payload: {
      ca,
      profile,
      subject: { commonName: 'rest.example.com' },
      sans: { dns: ['rest.example.com'] },
      keyType: 'ec-p256',
      ...(ttl ? { ttl } : {}),
    },
  });
  expect(r.statusCode, r.body).toBe(201);
  return r.json().certificatePem as string;
}

/** POST (or GET) `/v1/<path>` of `instance` with an OCSP request: the HTTP status, its content type and the response */
export async function vaultOcspAsk(
  instance: Pick<VaultFixture, 'url'>,
  path: string,
  req: Uint8Array,
  method: 'POST' | 'GET' = 'POST',
) {
  const res =
    method === 'POST'
      ? await fetch(`${instance.url}/v1/${path}`, {
          method,
          headers: { 'content-type': 'application/ocsp-request' },
          body: Buffer.from(req),
        })
      : await fetch(`${instance.url}/v1/${path}/${encodeURIComponent(Buffer.from(req).toString('base64'))}`);
  return { status: res.status, type: res.headers.get('content-type'), der: new Uint8Array(await res.arrayBuffer()) };
}

/**
 * `openssl ocsp -respin` of a response: `unauthorized` for that responder error, else the status of the one
 * certificate after the signature was verified against `signerPem` (-VAfile: the responder the test expects)
 */
export function vaultOcspRead(der: Uint8Array, signerPem?: string): string {
  const out = withTempDir((dir) => {
    writeFileSync(join(dir, 'resp.der'), der);
    const args = ['ocsp', '-respin', join(dir, 'resp.der'), '-resp_text'];
    if (signerPem) writeFileSync(join(dir, 'signer.pem'), signerPem);
    return opensslRaw([...args, ...(signerPem ? ['-VAfile', join(dir, 'signer.pem')] : ['-noverify'])]).output;
  });
  if (out.includes('Responder Error: unauthorized (6)')) return 'unauthorized';
  expect(out, out).toContain('Response verify OK');
  return /Cert Status: (good|revoked|unknown)/.exec(out)?.[1] ?? out;
}

/**
 * The mount `gone` with two EC roots — the first made by root/generate (the mount's default), the second by
 * issuers/generate/root — and the role `web`: each root's issuer id and PEM
 */
export async function goneMountWithTwoRoots(instance: Pick<VaultFixture, 'url' | 'token'>, names: [string, string]) {
  expect((await vaultCall(instance, 'POST', 'sys/mounts/gone', { type: 'pki' })).status).toBe(204);
  const made = async (path: string, cn: string) => {
    const r = await vaultCall(instance, 'POST', `gone/${path}`, { common_name: cn, key_type: 'ec' });
    expect(r.status, r.text).toBe(200);
    return { id: r.body.data.issuer_id as string, pem: `${(r.body.data.certificate as string).trim()}\n` };
  };
  const first = await made('root/generate/internal', names[0]);
  const second = await made('issuers/generate/root/internal', names[1]);
  expect((await vaultCall(instance, 'POST', 'gone/roles/web', { ...WEB_ROLE, key_type: 'ec' })).status).toBe(200);
  return { first, second };
}
