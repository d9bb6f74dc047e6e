// `pkim serve` on a data dir as a separate process (port 0), for the benchmarks that drive a real server.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

const PKIM = join(import.meta.dirname, '..', 'apps/cli/bin/pkim.mjs');

export interface ServeProcess {
  url: string;
  process: ChildProcessByStdio<null, Readable, null>;
  /** SIGTERM and wait for the exit */
  stop(): Promise<void>;
}

/** starts `pkim serve --port 0 --json` and resolves once its `--json` line names the URL */
export async function startPkimServe(dataDir: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const server = spawn(process.execPath, [PKIM, 'serve', '--port', '0', '--json'], {
    env: { ...process.env, PKIM_DATA_DIR: dataDir, PKIM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once('exit', (c) => reject(new Error(`pkim serve exited ${c}`)));
  });
  return {
    url,
    process: server,
    async stop() {
      server.kill('SIGTERM');
      await exited;
    },
  };
}

/** the Vault role `web` the benches sign with (`pki/sign/web`): EC P-256 leaves under example.test, 720 h at most */
export async function createVaultBenchRole(base: string, token: string): Promise<void> {
  const role = await fetch(`${base}/v1/pki/roles/web`, {
    method: 'POST',
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    body: JSON.stringify({
      allowed_domains: 'example.test',
      allow_subdomains: true,
      max_ttl: '720h',
      key_type: 'ec',
      key_bits: 256,
    }),
  });
  if (!role.ok) throw new Error(`Vault role: ${role.status} ${await role.text()}`);
}
