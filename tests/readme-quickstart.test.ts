// The README quick start, executed verbatim: the bash block between `<!-- quickstart:begin -->` and
// `<!-- quickstart:end -->` in README.md runs in an empty temporary directory with `pkim` on the PATH (the compiled
// CLI of this test run), a temporary PKIM_DATA_DIR and a free PKIM_PORT — the only things the README lets the reader
// set. So the README can never drift from the product again.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { PKIM_BIN, REPO_ROOT } from './support/cli-runner';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

/** the one fenced bash block between the quick-start markers */
function quickStartScript(readme: string): string {
  const m = /<!-- quickstart:begin -->\s*```bash\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme);
  if (!m?.[1]) throw new Error('README.md has no ```bash block between <!-- quickstart:begin/end --> markers');
  return m[1];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

describe('README quick start', () => {
  it('finds exactly one quick-start block (positive control: a README without markers is refused)', () => {
    expect(() => quickStartScript('# no quick start here')).toThrow(/no ```bash block/);
    expect(quickStartScript(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'))).toMatch(/pkim init/);
  });

  it('runs verbatim in bash: issues, verifies, revokes; openssl verify -crl_check and ocsp see it', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq']) requireBinary(bin);
    const script = quickStartScript(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8'));
    const tmp = tempDir('pkim-quickstart-');
    try {
      const work = join(tmp.dir, 'work');
      const bin = join(tmp.dir, 'bin');
      mkdirSync(work);
      mkdirSync(bin);
      // `pkim` as the README's reader has it after `npm link`: the CLI this test run built
      writeFileSync(join(bin, 'pkim'), `#!/bin/sh\nexec "${process.execPath}" "${PKIM_BIN}" "$@"\n`);
      chmodSync(join(bin, 'pkim'), 0o755);
      writeFileSync(join(tmp.dir, 'quickstart.sh'), script);
      const port = await freePort();
      const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn('bash', [join(tmp.dir, 'quickstart.sh')], {
          cwd: work,
          env: {
            PATH: `${bin}:${process.env.PATH ?? ''}`,
            HOME: tmp.dir,
            PKIM_DATA_DIR: join(tmp.dir, 'data'),
            PKIM_PORT: String(port),
            PKIM_LOG_LEVEL: 'warn',
          },
          timeout: 240_000,
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, out }));
      });
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/issued serial [0-9a-f]{30,40}\n/);
      expect(run.out).toContain('www.pem: OK'); // before the revocation
      expect(run.out).toMatch(/certificate revoked/);
      expect(run.out).toContain('revoked, as expected');
      expect(run.out).toContain('Response verify OK');
      expect(run.out).toMatch(/www\.pem: revoked/);
      expect(run.out).toMatch(/Reason: keyCompromise/);
      expect(run.out).toMatch(/audit chain|ok/i);
      // the certificate carries the URLs set with `pkim ca set-urls`
      const leaf = readFileSync(join(work, 'www.pem'), 'utf8');
      expect(leaf).toMatch(/BEGIN CERTIFICATE/);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
