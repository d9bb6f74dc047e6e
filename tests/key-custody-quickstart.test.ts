// docs/key-custody.md's SoftHSM2 walk-through, executed verbatim (tests/support/doc-script.ts): a token made with
// softhsm2-util in the walk's own SOFTHSM2_CONF, a root and an issuing CA generated on it, a leaf issued, revoked and
// listed on a CRL, the server signing with the token's key before and after a restart, and a wrong PIN's one line.
// The certificates the walk leaves behind are checked again by Go's crypto/x509 and the CRL by openssl.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { markedBashBlock, runDocScript, verifyWalkHierarchy } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/key-custody.md';
const script = (md: string): string => markedBashBlock(md, 'key-custody-pkcs11', DOC);

describe('docs/key-custody.md SoftHSM2 walk-through', () => {
  it('runs verbatim: CA keys on the token, issue, revoke, CRL, the server signing across a restart', async () => {
    for (const bin of ['bash', 'openssl', 'curl', 'jq', 'softhsm2-util', 'pkcs11-tool']) requireBinary(bin);
    const tmp = tempDir('pkim-key-custody-quickstart-');
    try {
      const run = await runDocScript(tmp.dir, script(readFileSync(join(REPO_ROOT, DOC), 'utf8')));
      expect(run.code, run.out).toBe(0);
      // both CA keys generated on the token, never extractable
      const keys = run.out.match(/Private Key Object; EC[\s\S]*?Access: +[^\n]+/g) ?? [];
      expect(keys.map((k) => /label: +(\S+)/.exec(k)?.[1]).sort()).toEqual(['issuing', 'root']);
      for (const k of keys) expect(k).toMatch(/Access: +sensitive, always sensitive, never extractable/);
      expect(run.out).toContain('www.pem: OK');
      expect(run.out).toContain('openssl verify -crl_check: revoked, as expected');
      // the server signed with the token's key before and after its restart, and answered OCSP "revoked" both times
      expect(run.out).toContain('api-first.pem: OK');
      expect(run.out).toContain('api-restarted.pem: OK');
      expect(run.out.match(/^Response verify OK$/gm)).toHaveLength(2);
      expect(run.out.match(/^www\.pem: revoked$/gm)).toHaveLength(2);
      // a wrong PIN: the one line names the token and the setting, never the PIN; exit 6
      const refused = /^error: kms\.auth_failed: .*$/m.exec(run.out)?.[0] ?? '';
      expect(refused).toMatch(
        /^error: kms\.auth_failed: PKCS#11 login to token 'pkim-ca' refused: wrong PIN \(CKR_PIN_INCORRECT\) from /,
      );
      expect(refused).toMatch(/from PKIM_PKCS11_PIN_FILE \('[^']*\/wrong\.pin'\); not retried/);
      expect(refused).not.toContain('9999');
      expect(run.out).toMatch(/^exit code 6$/m);
      // no revocation's OCSP re-signing was cut off by the command closing the store
      expect(run.out).not.toContain('OCSP re-signing after a revocation failed');

      // independent of OpenSSL: Go verifies the three leaves under the token-held hierarchy; openssl the CRL
      const checked = verifyWalkHierarchy(
        run.work,
        ['www.pem', 'api-first.pem', 'api-restarted.pem'],
        'issuing-crl.pem',
      );
      for (const v of checked.leaves) expect(v.ok, `${v.leaf}: ${v.output}`).toBe(true);
      expect(checked.crl.ok, checked.crl.text).toBe(true);
      expect(checked.crl.text).toContain('Key Compromise');
    } finally {
      tmp.cleanup();
    }
  }, 400_000);
});
