// Helpers that make inputs with openssl (an independent implementation), for tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'pkim-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const KEY_ARGS: Record<string, string[]> = {
  'ec-p256': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  'ec-p384': ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  'rsa-1024': ['-newkey', 'rsa:1024'],
  'rsa-2048': ['-newkey', 'rsa:2048'],
  'rsa-3072': ['-newkey', 'rsa:3072'],
  'rsa-4096': ['-newkey', 'rsa:4096'],
  ed25519: ['-newkey', 'ed25519'],
};

/** A CSR made by `openssl req` (PEM), with its private key. */
export function opensslCsr(opts: { keyType: string; subject: string; sans?: string[] }): {
  csrPem: string;
  keyPem: string;
} {
  const t = tempDir('pkim-csr-');
  try {
    const keyArgs = KEY_ARGS[opts.keyType];
    if (!keyArgs) throw new Error(`no openssl key args for ${opts.keyType}`);
    const args = [
      'req',
      '-new',
      ...keyArgs,
      '-nodes',
      '-keyout',
      join(t.dir, 'key.pem'),
      '-out',
      join(t.dir, 'csr.pem'),
      '-subj',
      opts.subject,
    ];
    if (opts.sans?.length) args.push('-addext', `subjectAltName=${opts.sans.join(',')}`);
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return {
      csrPem: readFileSync(join(t.dir, 'csr.pem'), 'utf8'),
      keyPem: readFileSync(join(t.dir, 'key.pem'), 'utf8'),
    };
  } finally {
    t.cleanup();
  }
}

/** Runs openssl with files written to a temp dir; returns stdout+stderr and the exit status. */
export function openssl(
  args: string[],
  files: Record<string, string | Uint8Array> = {},
): { ok: boolean; output: string; dir: string } {
  const t = tempDir('pkim-ossl-');
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(t.dir, name), content);
    const resolved = args.map((a) => (a.startsWith('@') ? join(t.dir, a.slice(1)) : a));
    const r = spawnSync('openssl', resolved, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) throw new Error(`openssl could not run (${r.error.message}): run scripts/install-test-peers.sh`);
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, dir: t.dir };
  } finally {
    t.cleanup();
  }
}
