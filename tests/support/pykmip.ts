/**
 * Starts a throwaway PyKMIP server (KMIP binary TTLV over TLS) for tests: a fresh CA, server and client
 * certificates (openssl) in a temp dir, a config with auth_suite TLS1.2 (PyKMIP's default "Basic" suite
 * is TLS 1.0, refused by OpenSSL 3), 127.0.0.1 on an ephemeral port. `stop()` SIGKILLs the server (it
 * honours SIGTERM only after a 10 s accept timeout) together with its forked policy monitor (own process
 * group) and removes the directory — unless the directory was given (`startPyKmip({ dir })`, what
 * `npm run kmip:pykmip -- --dir DIR` uses): then its certificates, key database and port are kept, and the next start
 * on it serves the same keys at the same URL.
 *
 * Needs Debian's python3-pykmip and openssl: scripts/install-test-peers.sh installs them.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PyKmipServer {
  /** kmip://127.0.0.1:<port> */
  url: string;
  port: number;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  dir: string;
  stop(): Promise<void>;
}

const PYTHON = '/usr/bin/python3';
const SERVER = '/usr/bin/pykmip-server';

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed: ${stderr || err.message}`));
      else resolve();
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function assertPeersInstalled(): void {
  const missing = [PYTHON, SERVER].filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(
      `PyKMIP test peer missing (${missing.join(', ')}): run scripts/install-test-peers.sh ` +
        `(apt-get install -y python3-pykmip openssl). PyKMIP must run under Debian's ${PYTHON}.`,
    );
  }
}

/** A self-signed test CA (`<ca>.key`, `<ca>.crt` in `dir`): CA:TRUE, keyCertSign + cRLSign, 30 days. */
async function makeTestCa(dir: string, ca: string, cn: string): Promise<void> {
  await run(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '30',
      '-sha256',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
}

/**
 * An RSA end-entity certificate `<name>.crt` (key `<name>.key`) for `/CN=<cn>`, signed by the CA `<ca>` in `dir`,
 * 30 days, CA:FALSE, digitalSignature + keyEncipherment, and the extension lines given (EKU, SAN).
 */
async function signTestLeaf(dir: string, name: string, ca: string, cn: string, extensions: string[]): Promise<void> {
  await writeFile(
    join(dir, `${name}.ext`),
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...extensions, ''].join('\n'),
  );
  await run(
    'openssl',
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
    dir,
  );
  await run(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Creates a CA (optional) and a clientAuth certificate signed by it, in `dir` with file prefix `name`. */
export async function makeClientCert(
  dir: string,
  name: string,
  opts: { cn?: string; caName?: string } = {},
): Promise<{ certPem: string; keyPem: string; caPem: string }> {
  const ca = opts.caName ?? `${name}-ca`;
  if (!existsSync(join(dir, `${ca}.crt`))) await makeTestCa(dir, ca, `${ca} test CA`);
  await signTestLeaf(dir, name, ca, opts.cn ?? 'pki-client', ['extendedKeyUsage=clientAuth']);
  return {
    certPem: await readFile(join(dir, `${name}.crt`), 'utf8'),
    keyPem: await readFile(join(dir, `${name}.key`), 'utf8'),
    caPem: await readFile(join(dir, `${ca}.crt`), 'utf8'),
  };
}

async function waitForPort(port: number, child: ChildProcess, dir: string, deadlineMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < deadlineMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(join(dir, 'stdout.log'), 'utf8').catch(() => '');
      throw new Error(`pykmip-server exited early (code ${child.exitCode}): ${log.slice(-2000)}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timeout waiting for pykmip-server on 127.0.0.1:${port}`);
}

export interface PyKmipOptions {
  /** a directory to keep (created when missing): a second start on it reuses its certificates, keys and port */
  dir?: string;
  /** the port of a first start on `dir` (default: a free one) */
  port?: number;
}

/** the port a kept directory's server.conf names, when it has one */
async function keptPort(dir: string): Promise<number | undefined> {
  const conf = await readFile(join(dir, 'server.conf'), 'utf8').catch(() => '');
  const m = /^port=(\d+)$/m.exec(conf);
  return m ? Number(m[1]) : undefined;
}

export async function startPyKmip(opts: PyKmipOptions = {}): Promise<PyKmipServer> {
  assertPeersInstalled();
  const kept = opts.dir !== undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'pkim-pykmip-')));
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child?.pid !== undefined) {
      // PyKMIP forks a policy-monitor process (multiprocessing): kill the whole process group.
      const running = child.exitCode === null && child.signalCode === null;
      const exited = running ? new Promise((r) => child!.once('exit', r)) : Promise.resolve();
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // group already gone
      }
      await exited;
    }
    if (!kept) await rm(dir, { recursive: true, force: true });
  };
  try {
    await mkdir(join(dir, 'policies'), { recursive: true });
    if (!existsSync(join(dir, 'client.crt'))) {
      // CA + server certificate (SAN localhost / 127.0.0.1, EKU serverAuth)
      await makeTestCa(dir, 'ca', 'PyKMIP Test CA');
      await signTestLeaf(dir, 'server', 'ca', 'localhost', [
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
      ]);
      // client certificate (PyKMIP requires EKU clientAuth; the CN is the object owner)
      await makeClientCert(dir, 'client', { caName: 'ca' });
    }
    const client = {
      certPem: await readFile(join(dir, 'client.crt'), 'utf8'),
      keyPem: await readFile(join(dir, 'client.key'), 'utf8'),
      caPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
    };

    const port = (kept ? await keptPort(dir) : undefined) ?? opts.port ?? (await freePort());
    await writeFile(
      join(dir, 'server.conf'),
      [
        '[server]',
        'hostname=127.0.0.1',
        `port=${port}`,
        `certificate_path=${join(dir, 'server.crt')}`,
        `key_path=${join(dir, 'server.key')}`,
        `ca_path=${join(dir, 'ca.crt')}`,
        'auth_suite=TLS1.2',
        `policy_path=${join(dir, 'policies')}`,
        'enable_tls_client_auth=True',
        'logging_level=INFO',
        `database_path=${join(dir, 'pykmip.db')}`,
        '',
      ].join('\n'),
    );
    const { openSync, closeSync } = await import('node:fs');
    const out = openSync(join(dir, 'stdout.log'), 'a');
    child = spawn(PYTHON, [SERVER, '-f', join(dir, 'server.conf'), '-l', join(dir, 'server.log')], {
      cwd: dir,
      stdio: ['ignore', out, out],
      detached: true, // own process group, so stop() also reaches PyKMIP's forked children
    });
    child.unref();
    closeSync(out);
    await waitForPort(port, child, dir, 30_000);
    return {
      url: `kmip://127.0.0.1:${port}`,
      port,
      caPem: client.caPem,
      clientCertPem: client.certPem,
      clientKeyPem: client.keyPem,
      dir,
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
