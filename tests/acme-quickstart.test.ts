// docs/acme.md's certbot walk-through, executed verbatim (tests/support/doc-script.ts) with a free port for http-01:
// a certificate for localhost (standalone), `certbot renew --force-renewal`, `certbot revoke`, each checked by
// openssl in the walk; the renewed certificate it leaves is verified again by Go's crypto/x509.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { freePort, markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { goVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/acme.md';
const script = (md: string): string => markedBashBlock(md, 'acme-certbot', DOC);

describe('docs/acme.md certbot walk-through', () => {
  it('runs verbatim in bash: obtain for localhost, renew with a new serial, revoke (OCSP: revoked)', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'certbot']) requireBinary(bin);
    const tmp = tempDir('pkim-acme-quickstart-');
    try {
      const env = { PKIM_ACME_HTTP01_PORT: String(await freePort()) };
      const run = await runDocScript(tmp.dir, script(readFileSync(join(REPO_ROOT, DOC), 'utf8')), 300_000, env);
      expect(run.code, run.out).toBe(0);
      expect(run.out).toMatch(/letsencrypt\/live\/localhost\/cert\.pem: OK$/m);
      const serials = [...run.out.matchAll(/^serial=([0-9A-F]+)$/gm)].map((m) => m[1]);
      expect(serials).toHaveLength(2);
      expect(serials[1]).not.toBe(serials[0]);
      expect(run.out).toContain('Response verify OK');
      expect(run.out).toMatch(/letsencrypt\/live\/localhost\/cert\.pem: revoked$/m);
      expect(run.out).toMatch(/Reason: keyCompromise/);

      const live = join(run.work, 'letsencrypt/live/localhost');
      const v = goVerify({
        leafPem: readFileSync(join(live, 'cert.pem'), 'utf8'),
        intermediatesPems: [readFileSync(join(live, 'chain.pem'), 'utf8')],
        rootPem: readFileSync(join(run.work, 'root.pem'), 'utf8'),
        dnsName: 'localhost',
        keyUsage: 'serverAuth',
      });
      expect(v.ok, v.output).toBe(true);
    } finally {
      tmp.cleanup();
    }
  }, 400_000);
});
