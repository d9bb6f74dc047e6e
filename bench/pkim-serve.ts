// `pkim serve` on a data dir as a separate process (port 0), for the benchmarks that drive a real server.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { SYSTEM_ACTOR, type Authority } from '@pkim/authority';

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

/**
 * a data dir for the benches that drive `pkim serve`: an EC P-256 root `<name>-root`, an admin token, the Vault mount
 * `pki` on the root, SPIFFE (trust domain `<name>.test`) and an operator token for `node/*` SVIDs; the authority closed
 */
export async function prepareBenchDataDir(authority: Authority, name: string) {
  const title = name[0]!.toUpperCase() + name.slice(1);
  const root = await authority.cas.create(
    { name: `${name}-root`, subject: `CN=${title} Root CA`, keyType: 'ec-p256' },
    SYSTEM_ACTOR,
  );
  const { token } = await authority.auth.createToken({ name, role: 'admin' }, SYSTEM_ACTOR);
  await authority.vault.mounts.mount({ path: 'pki', ca: root.ca.id, maxLeaseTtl: '87600h' }, SYSTEM_ACTOR);
  await authority.spiffe.init({ trustDomain: `${name}.test` }, SYSTEM_ACTOR);
  const { token: spiffeToken } = await authority.auth.createToken(
    { name: 'svid', role: 'operator', scopes: ['spiffe:sign'], resources: { spiffe: ['node/*'] } },
    SYSTEM_ACTOR,
  );
  await authority.close();
  return { root, token, spiffeToken };
}
