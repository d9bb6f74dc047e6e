// docs/key-custody.md's PyKMIP walk-through, executed verbatim (tests/support/doc-script.ts) with PKIM_CHECKOUT this
// checkout: PyKMIP started with `npm run kmip:pykmip` (scripts/pykmip-server.ts), a root and an issuing CA whose RSA
// keys PyKMIP generates, a leaf issued, revoked and listed on a CRL, an EC key type refused in one line, then PyKMIP
// restarted on its kept directory and the server signing and answering OCSP with the same keys. The certificates the
// walk leaves behind are checked again by Go's crypto/x509 and the CRL by openssl.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript, verifyWalkHierarchy } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/key-custody.md';
const script = (md: string): string => markedBashBlock(md, 'key-custody-kmip', DOC);
/** the command lines of running processes that name `dir` (PyKMIP's config and log are in the walk's directory) */
const processesIn = (dir: string): string[] =>
  spawnSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((args) => args.includes(dir) && !args.startsWith('ps '));

describe('docs/key-custody.md PyKMIP walk-through', () => {
  it('runs verbatim: CA keys in PyKMIP, issue, revoke, CRL, EC refused, signing after PyKMIP restarts', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq', 'npm', '/usr/bin/python3', '/usr/bin/pykmip-server']) {
      requireBinary(bin);
    }
    const tmp = tempDir('pkim-kmip-quickstart-');
    try {
      const md = readFileSync(join(REPO_ROOT, DOC), 'utf8');
      const run = await runDocScript(tmp.dir, script(md), 240_000, { PKIM_CHECKOUT: REPO_ROOT });
      expect(run.code, run.out).toBe(0);
      // the walk's EXIT trap (a SIGTERM to `npm run`) stopped the wrapper and PyKMIP with it: nothing is left running
      await expect.poll(() => processesIn(run.work), { timeout: 20_000 }).toEqual([]);
      // the settings npm run kmip:pykmip wrote, and both CA keys held by PyKMIP (a kmip: key URI on its port)
      const url = /^export PKIM_KMIP_URL=kmip:\/\/127\.0\.0\.1:(\d+)$/m.exec(run.out);
      expect(url, run.out).not.toBeNull();
      const keyUris = run.out.match(/^kmip:[^@\s]+@127\.0\.0\.1:\d+\?pub=\S+$/gm) ?? [];
      expect(keyUris).toHaveLength(2);
      for (const uri of keyUris) expect(uri).toContain(`@127.0.0.1:${url![1]}?`);
      expect(run.out).toContain('www.pem: OK');
      expect(run.out).toContain('openssl verify -crl_check: revoked, as expected');
      // an EC key type: one line saying the KMIP server makes no such key pair, exit 2
      expect(run.out).toMatch(/^error: kms\.unsupported: the KMIP server cannot create ec-p256 key pairs \(.*\)$/m);
      expect(run.out).toMatch(/^exit code 2$/m);
      // after PyKMIP's restart the server signs with the same keys and answers OCSP "revoked"
      expect(run.out).toContain('api.pem: OK');
      expect(run.out).toMatch(/^Response verify OK$/m);
      expect(run.out).toMatch(/^www\.pem: revoked$/m);

      // independent of OpenSSL: Go verifies both leaves under the PyKMIP-held hierarchy; openssl the CRL
      const checked = verifyWalkHierarchy(run.work, ['www.pem', 'api.pem'], 'issuing-crl.pem');
      for (const v of checked.leaves) expect(v.ok, `${v.leaf}: ${v.output}`).toBe(true);
      expect(checked.crl.ok, checked.crl.text).toBe(true);
      expect(checked.crl.text).toContain('Key Compromise');
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
