// `pkim cert show` (text and --json) of a certificate from a custom profile with extra EKU OIDs and certificate
// policies (CPS URI, user notice) says what openssl reads in it. console-policies-e2e checks the console's page and
// REST for a leaf of the same profile; the CLI's side is here, run in this process (cli-in-process.ts) instead of two
// `pkim` processes beside Chromium.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkim } from '../../../tests/support/cli-in-process';
import { opensslPurposes, POLICIES, POLICIES_PROFILE } from '../../../tests/support/certificate-policies-fixture';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';

describe('pkim cert show: EKU OIDs and certificate policies', () => {
  const tmp = tempDir('pkim-cert-policies-');
  const dataDir = join(tmp.dir, 'data');
  const env = { PKIM_PROFILES_FILE: join(tmp.dir, 'profiles.json') };
  const pkim = (...args: string[]) => {
    const r = runPkim(args, { dataDir, env });
    expect(r.code, `pkim ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  afterAll(() => tmp.cleanup());

  it('text and --json say what openssl reads in a leaf of the profile', () => {
    writeFileSync(env.PKIM_PROFILES_FILE, JSON.stringify([POLICIES_PROFILE]));
    pkim('ca', 'create', '--name', 'pol-root', '--subject', 'CN=Policies Root', '--key-type', 'ec-p256');
    const rootPem = pkim('ca', 'show', 'pol-root', '--json').json<{ certificatePem: string }>().certificatePem;
    const issued = pkim(
      ...['cert', 'issue', '--ca', 'pol-root', '--profile', 'tls-server-policies', '--cn', 'policy.example.com'],
      ...['--san', 'policy.example.com', '--json'],
    ).json<{ id: string }>();
    const show = pkim('cert', 'show', issued.id, '--json');
    const { certificatePem } = show.json<{ certificatePem: string }>();
    const v = opensslVerify({ leafPem: certificatePem, rootPem, purpose: 'sslserver' });
    expect(v.ok, v.output).toBe(true);
    const seen = opensslPurposes(certificatePem);
    expect(seen).toEqual({ extKeyUsage: ['serverAuth', '1.3.6.1.4.1.32473.9.1'], certificatePolicies: POLICIES });
    // --json as REST (console-policies-e2e compares REST with openssl), the text one row per policy
    expect(show.json()).toMatchObject(seen);
    const text = pkim('cert', 'show', issued.id);
    expect(text.stdout).toMatch(/^ext key usage: +serverAuth, 1\.3\.6\.1\.4\.1\.32473\.9\.1$/m);
    expect(text.stdout.match(/^policy: .*$/gm)).toEqual([
      expect.stringMatching(/^policy: +1\.3\.6\.1\.4\.1\.32473\.1\.2\.4 CPS https:\/\/pki\.example\.com\/cps$/),
      expect.stringMatching(/^policy: +1\.3\.6\.1\.4\.1\.32473\.1\.2\.5 notice "Internal services only"$/),
      expect.stringMatching(/^policy: +2\.23\.140\.1\.2\.1$/),
    ]);
  }, 60_000);
});
