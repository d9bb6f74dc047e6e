// docs/acme.md's lego walk-through, executed verbatim (tests/support/doc-script.ts) with a free port for http-01: an
// account and a certificate for localhost (`lego run`), `lego renew`, `lego revoke`, each checked by openssl in the
// walk; the renewed certificate it leaves is verified again by Go's crypto/x509 (a sibling of acme-quickstart.test.ts,
// certbot's, so each file stays short).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { freePort, markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { goVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/acme.md';
const script = (md: string): string => markedBashBlock(md, 'acme-lego', DOC);
const pems = (text: string): string[] => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;

describe('docs/acme.md lego walk-through', () => {
  it('runs verbatim in bash: an account, a certificate for localhost, renewed (a new serial), revoked', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'lego']) requireBinary(bin);
    const tmp = tempDir('pkim-acme-lego-quickstart-');
    try {
      const env = { PKIM_ACME_HTTP01_PORT: String(await freePort()) };
      const run = await runDocScript(tmp.dir, script(readFileSync(join(REPO_ROOT, DOC), 'utf8')), 240_000, env);
      expect(run.code, run.out).toBe(0);
      // the account lego registered, as the server lists it
      expect(run.out).toMatch(/^acct_\S+ +ca_\S+ +valid +mailto:ops@example\.com +1 /m);
      expect(run.out).toMatch(/lego\/certificates\/localhost\.crt: OK$/m);
      const serials = [...run.out.matchAll(/^serial=([0-9A-F]+)$/gm)].map((m) => m[1]);
      expect(serials).toHaveLength(2);
      expect(serials[1]).not.toBe(serials[0]);
      expect(run.out).toContain('Response verify OK');
      expect(run.out).toMatch(/lego\/certificates\/localhost\.crt: revoked$/m);
      expect(run.out).toMatch(/Reason: keyCompromise/);

      // lego's localhost.crt: the renewed leaf, then the issuing CA
      const [leafPem, ...chain] = pems(readFileSync(join(run.work, 'lego/certificates/localhost.crt'), 'utf8'));
      expect(chain).toHaveLength(1);
      const v = goVerify({
        leafPem: leafPem!,
        intermediatesPems: chain,
        rootPem: readFileSync(join(run.work, 'root.pem'), 'utf8'),
        dnsName: 'localhost',
        keyUsage: 'serverAuth',
      });
      expect(v.ok, v.output).toBe(true);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
