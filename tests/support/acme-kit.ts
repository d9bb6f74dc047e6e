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
import { requireBinary } from './verifiers';
import { TEST_ADMIN, silentLogger } from './test-kit';

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
  /** `${base}/acme/${caId}/directory` */
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
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  return {
    authority,
    app,
    base,
    rootId: root.ca.id,
    rootPem: root.certificatePem!,
    caId: ca.ca.id,
    caPem: ca.certificatePem!,
    directoryUrl: `${base}/acme/${ca.ca.id}/directory`,
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
