/**
 * Real OpenSSH for tests: `ssh-keygen` (-L, -Q, key generation) and an `sshd` on 127.0.0.1 on an ephemeral
 * port, run from a private temp dir with its own config (`-f`, `-D -e`, UsePAM no, StrictModes no).
 * Peers come from Debian openssh-client/openssh-server (scripts/install-test-peers.sh); a missing peer fails loudly.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export function requireOpenSsh(): void {
  for (const bin of ['/usr/bin/ssh-keygen', '/usr/bin/ssh', SSHD]) {
    if (!existsSync(bin)) {
      throw new Error(
        `test peer ${bin} is missing: run scripts/install-test-peers.sh ` +
          '(Debian: apt-get install openssh-client openssh-server)',
      );
    }
  }
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function sshKeygen(args: string[], opts: { input?: string } = {}): RunResult {
  requireOpenSsh();
  const r = spawnSync('/usr/bin/ssh-keygen', args, {
    encoding: 'utf8',
    input: opts.input,
    env: { ...process.env, TZ: 'UTC' },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** A temp dir removed by `cleanup()`. */
export function makeTempDir(prefix = 'pkim-ssh-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Generates a key pair with ssh-keygen; returns the private key path and the `.pub` line. */
export function generateSshKey(
  dir: string,
  name: string,
  type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519',
  bits?: number,
): { path: string; pub: string } {
  const path = join(dir, name);
  const args = ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', path];
  if (bits) args.push('-b', String(bits));
  const r = sshKeygen(args);
  if (r.status !== 0) throw new Error(`ssh-keygen -t ${type} failed: ${r.stderr}`);
  return { path, pub: readFileSync(`${path}.pub`, 'utf8').trim() };
}

/** `ssh-keygen -L -f` of a certificate line. */
export function describeCertificate(certLine: string): string {
  const { dir, cleanup } = makeTempDir();
  try {
    const f = join(dir, 'id-cert.pub');
    writeFileSync(f, certLine + '\n');
    const r = sshKeygen(['-L', '-f', f]);
    if (r.status !== 0) throw new Error(`ssh-keygen -L refused the certificate: ${r.stderr}`);
    return r.stdout;
  } finally {
    cleanup();
  }
}

/** `ssh-keygen -Q -f krl key`: true when ssh-keygen reports the key/certificate as revoked. */
export function krlRevokes(krl: Uint8Array, keyOrCertLine: string): boolean {
  const { dir, cleanup } = makeTempDir();
  try {
    writeFileSync(join(dir, 'revoked.krl'), krl);
    writeFileSync(join(dir, 'key.pub'), keyOrCertLine + '\n');
    const r = sshKeygen(['-Q', '-f', join(dir, 'revoked.krl'), join(dir, 'key.pub')]);
    const out = r.stdout + r.stderr;
    if (out.includes('REVOKED')) return true;
    if (r.status === 0 && out.includes(': ok')) return false;
    throw new Error(`ssh-keygen -Q failed (status ${r.status}): ${out}`);
  } finally {
    cleanup();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface SshdOptions {
  /** Extra sshd_config lines (TrustedUserCAKeys, RevokedKeys, HostCertificate, AuthorizedPrincipalsFile…). */
  config: string[];
  /** Host key to use (private key path); generated when absent. */
  hostKey?: string;
}

export interface RunningSshd {
  port: number;
  dir: string;
  hostKey: string;
  hostKeyPub: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** Starts sshd (must run as root to switch users) on 127.0.0.1 on a free port; resolves once it listens. */
export async function startSshd(opts: SshdOptions): Promise<RunningSshd> {
  requireOpenSsh();
  if (userInfo().uid !== 0) throw new Error('the sshd end-to-end test needs root (sshd changes to the login user)');
  const { dir, cleanup } = makeTempDir('pkim-sshd-');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const hostKey = opts.hostKey ?? generateSshKey(dir, 'ssh_host_ed25519_key').path;
  const hostKeyPub = readFileSync(`${hostKey}.pub`, 'utf8').trim();
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'sshd_config');
    writeFileSync(
      conf,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'UsePAM no',
        'StrictModes no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        'AuthorizedKeysFile none',
        'PermitRootLogin yes',
        'LogLevel VERBOSE',
        ...opts.config,
      ].join('\n') + '\n',
    );
    const check = spawnSync(SSHD, ['-t', '-f', conf], { encoding: 'utf8' });
    if (check.status !== 0) {
      cleanup();
      throw new Error(`sshd -t refused the config: ${check.stderr}`);
    }
    let log = '';
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (log += String(d)));
    child.stderr?.on('data', (d) => (log += String(d)));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const listening = await new Promise<boolean>((resolve) => {
      const onData = () => {
        if (log.includes('Server listening on 127.0.0.1 port')) resolve(true);
      };
      child.stderr?.on('data', onData);
      child.once('exit', () => resolve(false));
      setTimeout(() => resolve(log.includes('Server listening')), 15_000);
    });
    if (listening) {
      return {
        port,
        dir,
        hostKey,
        hostKeyPub,
        log: () => log,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          cleanup();
        },
      };
    }
    lastError = log;
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
  cleanup();
  throw new Error(`sshd did not start: ${lastError}`);
}

/**
 * Runs `ssh` non-interactively (BatchMode, no agent, no user config) and returns its result.
 * `knownHosts` is the known_hosts file; StrictHostKeyChecking yes means an unknown host key fails, never prompts.
 */
export function runSsh(o: {
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  command: string;
  hostAlias?: string;
  extra?: string[];
}): Promise<RunResult> {
  requireOpenSsh();
  const args = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    `UserKnownHostsFile=${o.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'ConnectTimeout=20',
    '-o',
    'LogLevel=ERROR',
    '-i',
    o.identity,
    '-p',
    String(o.port),
    ...(o.hostAlias ? ['-o', `HostKeyAlias=${o.hostAlias}`] : []),
    ...(o.extra ?? []),
    `${o.user}@127.0.0.1`,
    o.command,
  ];
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
