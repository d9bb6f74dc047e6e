// docs/profiles.md's walk-through, executed verbatim (tests/support/doc-script.ts) with the page's complete example as
// the profiles file: every custom profile issues within itself (openssl verifies each certificate for its purpose
// and refuses it for another), and the requests outside it are refused with their documented codes. The certificates
// it leaves are verified again by GnuTLS certtool and Go's crypto/x509 (the issuing CA's name constraints included),
// their lifetimes are the profiles' defaults, and the refusals issued nothing.
import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { runPkim } from './support/cli-in-process';
import { markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { certtoolVerify, goVerify, requireBinary } from './support/verifiers';

const DOC = 'docs/profiles.md';
const DAY = 86_400_000;

describe('docs/profiles.md walk-through', () => {
  it('runs verbatim in bash: each example profile issues within itself and refuses outside it', async () => {
    for (const bin of ['bash', 'openssl', 'jq', 'certtool']) requireBinary(bin);
    const doc = readFileSync(join(REPO_ROOT, DOC), 'utf8');
    const tmp = tempDir('pkim-profiles-walk-');
    try {
      const profilesFile = join(tmp.dir, 'profiles.json');
      writeFileSync(profilesFile, /A complete example[^\n]*\n\n```json\n([\s\S]*?)\n```/.exec(doc)![1]!);
      const env = { PKIM_PROFILES_FILE: profilesFile };
      const run = await runDocScript(tmp.dir, markedBashBlock(doc, 'profiles-walkthrough', DOC), 240_000, env);
      expect(run.code, run.out).toBe(0);
      expect([...run.out.matchAll(/^from the file: (\S+)$/gm)].map((m) => m[1])).toEqual([
        'tls-server-internal',
        'workload-mtls',
        'ocsp-responder',
        'intermediate-ca',
      ]);
      expect([...run.out.matchAll(/^error: ([\w.]+): /gm)].map((m) => m[1])).toEqual([
        'policy.key_type_not_allowed', // intermediate-ca: EC P-256
        'policy.lifetime_exceeded', // intermediate-ca: 6y
        'policy.lifetime_exceeded', // tls-server-internal: 120d
        'policy.key_type_not_allowed', // tls-server-internal: Ed25519
        'lint.name_constraints_violation', // the CA's permitted DNS subtree
        'policy.san_required', // workload-mtls: no URI
        'policy.san_not_allowed', // workload-mtls: https URI
        'policy.san_not_allowed', // workload-mtls: two URIs
        'policy.lifetime_exceeded', // workload-mtls: 8d
        'renewal.key_reuse_not_allowed', // workload-mtls: no allowKeyReuse
      ]);
      // one wording for a CA's key and a leaf's: what was asked, what the profile allows
      expect([...run.out.matchAll(/^error: policy\.key_type_not_allowed: (.*)$/gm)].map((m) => m[1])).toEqual([
        'profile intermediate-ca does not allow ec-p256 keys (allowed: ec-p384, rsa-4096)',
        'profile tls-server-internal does not allow ed25519 keys (allowed: ec-p256, ec-p384, rsa-3072)',
      ]);
      // openssl refused the two certificates for the purpose their EKU does not name
      expect(run.out.match(/unsuitable certificate purpose/g)).toHaveLength(2);

      const pem = (name: string): string => readFileSync(join(run.work, name), 'utf8');
      const [root, issuing] = [pem('root.pem'), pem('issuing.pem')];
      for (const leaf of ['web.pem', 'web-renewed.pem']) {
        const c = certtoolVerify({ leafPem: pem(leaf), chainPems: [issuing], rootPem: root, purpose: 'serverAuth' });
        expect(c.ok, `${leaf}: ${c.output}`).toBe(true);
      }
      const g = goVerify({
        leafPem: pem('billing.pem'),
        intermediatesPems: [issuing],
        rootPem: root,
        keyUsage: 'clientAuth',
      });
      expect(g.ok, g.output).toBe(true);
      const web = goVerify({
        leafPem: pem('web.pem'),
        intermediatesPems: [issuing],
        rootPem: root,
        dnsName: 'web.internal.example',
        keyUsage: 'serverAuth',
      });
      expect(web.ok, web.output).toBe(true);

      // each lifetime is the profile's default (notBefore backdated one minute)
      const lifetime = (name: string): number => {
        const c = new X509Certificate(pem(name));
        return Date.parse(c.validTo) - Date.parse(c.validFrom) - 60_000;
      };
      expect(lifetime('issuing.pem')).toBe(3 * 365 * DAY);
      expect(lifetime('web.pem')).toBe(30 * DAY);
      expect(lifetime('billing.pem')).toBe(DAY);
      expect(lifetime('ocsp.pem')).toBe(7 * DAY);

      // the refusals issued nothing: web, its renewal, billing and the OCSP responder are all there is
      const list = runPkim(['cert', 'list', '--json'], { dataDir: join(tmp.dir, 'data'), env });
      expect(list.code, list.stderr).toBe(0);
      expect(
        list
          .json<{ items: { commonName: string }[] }>()
          .items.map((c) => c.commonName)
          .sort(),
      ).toEqual(['Example OCSP Responder', 'billing', 'web.internal.example', 'web.internal.example']);
    } finally {
      tmp.cleanup();
    }
  }, 300_000);
});
