// A documentation's shell walk-through run verbatim: the one fenced bash block between `<!-- NAME:begin -->` and
// `<!-- NAME:end -->`, in an empty temporary directory with `pkim` on the PATH (the compiled CLI of this test run), a
// temporary PKIM_DATA_DIR and a free PKIM_PORT — the only things such a walk-through lets its reader set
// (tests/readme-quickstart.test.ts, tests/spiffe-quickstart.test.ts).
import { spawn } from 'node:child_process';
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

/** runs `script` with bash in `<dir>/work` (created); stdout and stderr together in `out` */
export async function runDocScript(
  dir: string,
  script: string,
  timeoutMs = 240_000,
  /** more variables the walk-through lets its reader set (docs/acme.md: PKIM_ACME_HTTP01_PORT) */
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; work: string }> {
  const work = join(dir, 'work');
  const bin = join(dir, 'bin');
  mkdirSync(work);
  mkdirSync(bin);
  // `pkim` as the reader has it after `npm link`: the CLI this test run built
  writeFileSync(join(bin, 'pkim'), `#!/bin/sh\nexec "${process.execPath}" "${PKIM_BIN}" "$@"\n`);
  chmodSync(join(bin, 'pkim'), 0o755);
  writeFileSync(join(dir, 'walkthrough.sh'), script);
  const port = await freePort();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(dir, 'walkthrough.sh')], {
      cwd: work,
      env: {
        PATH: `${bin}:${process.env.PATH ?? ''}`,
        HOME: dir,
        PKIM_DATA_DIR: join(dir, 'data'),
        PKIM_PORT: String(port),
        PKIM_LOG_LEVEL: 'warn',
        ...env,
      },
      timeout: timeoutMs,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, work }));
  });
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
