// A documentation's shell walk-through run verbatim: the one fenced bash block between `<!-- NAME:begin -->` and
// `<!-- NAME:end -->`, in an empty temporary directory with `pkim` on the PATH (the compiled CLI of this test run), a
// temporary PKIM_DATA_DIR and a free PKIM_PORT — the only things such a walk-through lets its reader set
// (tests/readme-quickstart.test.ts, tests/spiffe-quickstart.test.ts).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PKIM_BIN } from './cli-runner';
import { goVerify, opensslCrlVerify } from './verifiers';

/** the one fenced bash block between the `name` markers of `markdown` */
export function markedBashBlock(markdown: string, name: string, file: string): string {
  const re = new RegExp(`<!-- ${name}:begin -->\\s*\`\`\`bash\\n([\\s\\S]*?)\`\`\`\\s*<!-- ${name}:end -->`);
  const m = re.exec(markdown);
  if (!m?.[1]) throw new Error(`${file} has no \`\`\`bash block between <!-- ${name}:begin/end --> markers`);
  return m[1];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * `<dir>/work` and `<dir>/bin/pkim` (the CLI this test run built, as the reader has it after `npm link`); a second
 * script in the same `dir` runs where the first left its files, as a reader running a block again does.
 */
function prepare(dir: string, script: string): { work: string; bin: string } {
  const work = join(dir, 'work');
  const bin = join(dir, 'bin');
  mkdirSync(work, { recursive: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'pkim'), `#!/bin/sh\nexec "${process.execPath}" "${PKIM_BIN}" "$@"\n`);
  chmodSync(join(bin, 'pkim'), 0o755);
  writeFileSync(join(dir, 'walkthrough.sh'), script);
  return { work, bin };
}

function docEnv(dir: string, bin: string, port: number, env: Record<string, string>): Record<string, string> {
  return {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    PKIM_DATA_DIR: join(dir, 'data'),
    PKIM_PORT: String(port),
    PKIM_LOG_LEVEL: 'warn',
    ...env,
  };
}

/** runs `script` with bash in `<dir>/work` (created); stdout and stderr together in `out` */
export async function runDocScript(
  dir: string,
  script: string,
  timeoutMs = 240_000,
  /** more variables the walk-through lets its reader set (docs/acme.md: PKIM_ACME_HTTP01_PORT) */
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; work: string }> {
  const { work, bin } = prepare(dir, script);
  const port = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(dir, 'walkthrough.sh')], {
      cwd: work,
      env: docEnv(dir, bin, port, env),
      timeout: timeoutMs,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, work }));
  });
}

export interface RunningDocScript {
  /** http://127.0.0.1:<PKIM_PORT> */
  base: string;
  work: string;
  /** stdout and stderr so far */
  out(): string;
  /** the exit code once the script has ended by itself, else undefined */
  exited(): number | null | undefined;
  /** SIGTERM to the script's process group (bash, `pkim serve`, what it started), then waits for bash to end */
  stop(): Promise<void>;
  /**
   * The reader's Ctrl-C: SIGINT to the script's process group (what a terminal sends to its foreground job: bash and
   * every process it started), then waits for bash to end: its exit code, or the signal that ended it.
   */
  interrupt(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** the live processes of the script's process group (`pid args` lines): none once it and its children ended */
  groupProcesses(): string[];
}

/**
 * Starts `script` like runDocScript but does not wait for it: for a walk-through that ends in a foreground
 * `pkim serve` the reader then uses (docs/oidc.md). It runs in a process group of its own, which stop() ends.
 */
export async function startDocScript(
  dir: string,
  script: string,
  env: Record<string, string> = {},
): Promise<RunningDocScript> {
  const { work, bin } = prepare(dir, script);
  const port = await freePort();
  const child = spawn('bash', [join(dir, 'walkthrough.sh')], {
    cwd: work,
    env: docEnv(dir, bin, port, env),
    detached: true,
  });
  let out = '';
  let code: number | null | undefined;
  let signal: NodeJS.Signals | null = null;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const closed = new Promise<void>((resolve) =>
    child.on('close', (c, s) => {
      code = c;
      signal = s;
      resolve();
    }),
  );
  const toGroup = (sig: NodeJS.Signals): void => {
    if (code !== undefined) return;
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // the group is gone already
    }
  };
  return {
    base: `http://127.0.0.1:${env.PKIM_PORT ?? port}`,
    work,
    out: () => out,
    exited: () => code,
    async stop() {
      toGroup('SIGTERM');
      await closed;
    },
    async interrupt() {
      toGroup('SIGINT');
      await closed;
      return { code: code ?? null, signal };
    },
    groupProcesses: () =>
      spawnSync('ps', ['-eo', 'pgid=,pid=,stat=,args='], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
        // a zombie (stat Z) has ended: only its parent's wait is missing (init's, for an orphan)
        .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) === child.pid && !m[3]!.startsWith('Z'))
        .map((m) => `${m[2]} ${m[4]}`),
  };
}

/**
 * A walk-through's root.pem → issuing.pem hierarchy checked independently of the OpenSSL the walk used: Go's
 * crypto/x509 verifies each of `leaves` (serverAuth), openssl (and certtool, Go) the CRL `crlFile` under issuing.pem.
 */
export function verifyWalkHierarchy(
  work: string,
  leaves: string[],
  crlFile: string,
): { leaves: { leaf: string; ok: boolean; output: string }[]; crl: { ok: boolean; text: string } } {
  const file = (f: string) => readFileSync(join(work, f), 'utf8');
  const verified = leaves.map((leaf) => {
    const v = goVerify({
      leafPem: file(leaf),
      intermediatesPems: [file('issuing.pem')],
      rootPem: file('root.pem'),
      keyUsage: 'serverAuth',
    });
    return { leaf, ok: v.ok, output: v.output };
  });
  const crlDer = Buffer.from(file(crlFile).replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
  return { leaves: verified, crl: opensslCrlVerify(crlDer, file('issuing.pem')) };
}
