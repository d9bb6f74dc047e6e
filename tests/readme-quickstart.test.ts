// The README quick start, executed verbatim: the bash block between `<!-- quickstart:begin -->` and
// `<!-- quickstart:end -->` in README.md runs in an empty temporary directory with `pkim` on the PATH (the compiled
// CLI of this test run), a temporary PKIM_DATA_DIR and a free PKIM_PORT — the only things the README lets the reader
// set. So the README can never drift from the product again.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

/** the one fenced bash block between the quick-start markers */
const quickStartScript = (readme: string): string => markedBashBlock(readme, 'quickstart', 'README.md');

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
      const run = await runDocScript(tmp.dir, script);
      const work = run.work;
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
