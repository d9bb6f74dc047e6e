// Helpers that make inputs with openssl (an independent implementation), for tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'pkim-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // retried: a process the test started may still be removing its files (SQLite's -wal/-shm at close): ENOTEMPTY
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }) };
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

/** `openssl req <args>` with a new unencrypted key of `keyType`: the PEM it writes (-out) and the key (-keyout). */
function opensslReqNewKey(keyType: string, args: string[]): { outPem: string; keyPem: string } {
  const keyArgs = KEY_ARGS[keyType];
  if (!keyArgs) throw new Error(`no openssl key args for ${keyType}`);
  const t = tempDir('pkim-req-');
  try {
    const files = ['-keyout', join(t.dir, 'key.pem'), '-out', join(t.dir, 'out.pem')];
    execFileSync('openssl', ['req', ...args, ...keyArgs, '-nodes', ...files], { stdio: ['ignore', 'ignore', 'pipe'] });
    return {
      outPem: readFileSync(join(t.dir, 'out.pem'), 'utf8'),
      keyPem: readFileSync(join(t.dir, 'key.pem'), 'utf8'),
    };
  } finally {
    t.cleanup();
  }
}

/** A CSR made by `openssl req` (PEM), with its private key; each of `addext` asked as an extension (`-addext`). */
export function opensslCsr(opts: { keyType: string; subject: string; sans?: string[]; addext?: string[] }): {
  csrPem: string;
  keyPem: string;
} {
  const args = ['-new', '-subj', opts.subject];
  if (opts.sans?.length) args.push('-addext', `subjectAltName=${opts.sans.join(',')}`);
  for (const ext of opts.addext ?? []) args.push('-addext', ext);
  const { outPem, keyPem } = opensslReqNewKey(opts.keyType, args);
  return { csrPem: outPem, keyPem };
}

/**
 * A self-signed certificate made by `openssl req -x509` (PEM), with its private key: EC P-256 unless `keyType` says
 * otherwise, valid `days` (1), each of `addext` (`'basicConstraints=critical,CA:TRUE'`…) passed as `-addext`.
 */
export function opensslSelfSigned(opts: { subject: string; keyType?: string; days?: number; addext?: string[] }): {
  certPem: string;
  keyPem: string;
} {
  const args = ['-x509', '-days', String(opts.days ?? 1), '-subj', opts.subject];
  for (const ext of opts.addext ?? []) args.push('-addext', ext);
  const { outPem, keyPem } = opensslReqNewKey(opts.keyType ?? 'ec-p256', args);
  return { certPem: outPem, keyPem };
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

/**
 * An outside CA made by openssl (a self-signed EC P-256 root, `rootSubject`, 30 days) signs `csrPem` as a CA
 * certificate (basicConstraints CA:TRUE, keyCertSign + cRLSign; 20 days): what `pkim ca import` is given for a CA
 * made by `ca create --external`. Both PEMs, the root's key aside. `opts.subject` (openssl `-subj`) replaces the CSR's
 * subject; `opts.issuer` signs instead of a new root (its PEM is then `rootPem`).
 */
export function opensslSignCaCsr(
  csrPem: string,
  rootSubject = '/CN=Outside Root',
  opts: { subject?: string; issuer?: { certPem: string; keyPem: string } } = {},
): { rootPem: string; subPem: string } {
  const root =
    opts.issuer ??
    opensslSelfSigned({
      subject: rootSubject,
      days: 30,
      addext: ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'],
    });
  const ext = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
  const sign = ['x509', '-req', '-in', '@sub.csr', '-CA', '@root.pem', '-CAkey', '@root.key', '-days', '20'];
  const t = tempDir('pkim-outside-ca-');
  try {
    const files = { 'sub.csr': csrPem, 'root.pem': root.certPem, 'root.key': root.keyPem, 'ext.cnf': ext };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(t.dir, name), content);
    const subj = opts.subject ? ['-subj', opts.subject] : [];
    const args = [...sign, ...subj, '-set_serial', '0x5ab1', '-extfile', '@ext.cnf', '-out', '@sub.pem'].map((a) =>
      a.startsWith('@') ? join(t.dir, a.slice(1)) : a,
    );
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl x509 -req failed: ${r.stderr}`);
    return { rootPem: root.certPem, subPem: readFileSync(join(t.dir, 'sub.pem'), 'utf8') };
  } finally {
    t.cleanup();
  }
}

/**
 * An outside hierarchy made by openssl: a root (`/CN=Outside Root`) signs an intermediate (`/CN=Outside
 * Intermediate`, CA:TRUE), which signs `csrPem` as a CA certificate — the CA certificate and the two PEMs of the
 * outside chain that `pkim ca import --issuer-cert` is given for it.
 */
export function opensslSignCaCsrUnderIntermediate(csrPem: string): {
  rootPem: string;
  intermediatePem: string;
  subPem: string;
} {
  const inter = opensslCsr({ keyType: 'ec-p256', subject: '/CN=Outside Intermediate' });
  const { rootPem, subPem: intermediatePem } = opensslSignCaCsr(inter.csrPem);
  const { subPem } = opensslSignCaCsr(csrPem, undefined, {
    issuer: { certPem: intermediatePem, keyPem: inter.keyPem },
  });
  return { rootPem, intermediatePem, subPem };
}

/** a leaf for `dns` signed by openssl with a CA certificate and its key (a key that never left the test): its PEM */
export function leafSignedBy(caPem: string, caKeyPem: string, dns: string): string {
  const leaf = opensslCsr({ keyType: 'ec-p256', subject: `/CN=${dns}`, sans: [`DNS:${dns}`] });
  const args = ['x509', '-req', '-in', '@leaf.csr', '-CA', '@ca.pem', '-CAkey', '@ca.key', '-days', '1'];
  const r = openssl([...args, '-copy_extensions', 'copy'], {
    'leaf.csr': leaf.csrPem,
    'ca.pem': `${caPem}\n`,
    'ca.key': caKeyPem,
  });
  if (!r.ok) throw new Error(`openssl could not sign the leaf: ${r.output}`);
  return /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.output)![0];
}
