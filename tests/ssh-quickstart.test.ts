// docs/ssh.md's quick start, executed verbatim (tests/support/doc-script.ts) with a free port for its private sshd:
// user and host CAs, a host registered with an account mapping, its deploy bundle, a user certificate that a real
// sshd (Debian's /usr/sbin/sshd on 127.0.0.1) lets in while `ssh` trusts the host by its certificate alone, then the
// same login refused once the certificate is revoked and the host's KRL rewritten. The page's sshd drop-in and the
// paths it gives the host certificate must be what `pkim ssh host bundle` writes: a host certificate anywhere else
// is not loaded, and clients trusting only `@cert-authority` refuse the host.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './support/cli-runner';
import { freePort, markedBashBlock, runDocScript } from './support/doc-script';
import { tempDir } from './support/openssl-tools';
import { requireOpenSsh, sshKeygen } from './support/openssh';
import { requireBinary } from './support/verifiers';

const DOC = 'docs/ssh.md';
const doc = (): string => readFileSync(join(REPO_ROOT, DOC), 'utf8');

/** the fenced block between `<!-- NAME:begin/end -->` whatever its language */
function markedBlock(markdown: string, name: string): string {
  const fence = '```';
  const re = new RegExp(`<!-- ${name}:begin -->\\s*${fence}\\w*\\n([\\s\\S]*?)${fence}\\s*<!-- ${name}:end -->`);
  const m = re.exec(markdown);
  if (!m?.[1]) throw new Error(`${DOC} has no fenced block between <!-- ${name}:begin/end --> markers`);
  return m[1];
}

describe('docs/ssh.md quick start', () => {
  it('runs verbatim: a real sshd lets the certificate in, trusts the host CA, refuses it once revoked', async () => {
    for (const bin of ['bash', 'jq']) requireBinary(bin);
    requireOpenSsh();
    const tmp = tempDir('pkim-ssh-quickstart-');
    try {
      const sshdPort = String(await freePort());
      const run = await runDocScript(tmp.dir, markedBashBlock(doc(), 'ssh-quickstart', DOC), 120_000, {
        SSHD_PORT: sshdPort,
      });
      expect(run.code, run.out).toBe(0);
      const me = userInfo().username;
      // in once, over the certificate (the remote command's own output), then refused after the revocation
      expect(run.out.match(/^logged in as .*$/gm), run.out).toEqual([`logged in as ${me}`]);
      expect(run.out).toMatch(/id-cert\.pub \(alice\): REVOKED/);
      const sshdLog = readFileSync(join(run.work, 'sshd.log'), 'utf8');
      expect(sshdLog).toMatch(new RegExp(`Accepted publickey for ${me} from 127\\.0\\.0\\.1 .* ID user:alice:`));
      expect(sshdLog).toMatch(/Authentication key ED25519-CERT \S+ revoked by file .*revoked\.krl/);
      expect(sshdLog).not.toMatch(/Could not load host certificate/);

      // the certificates the walk left, read by OpenSSH's own ssh-keygen
      const host = sshKeygen(['-L', '-f', join(run.work, 'ssh_host_ed25519_key-cert.pub')]);
      expect(host.status, host.stderr).toBe(0);
      expect(host.stdout).toContain('host certificate');
      expect(host.stdout).toMatch(/Principals: \n\s+localhost\n/);
      const user = sshKeygen(['-L', '-f', join(run.work, 'id-cert.pub')]);
      expect(user.stdout).toContain('user certificate');
      expect(user.stdout).toMatch(/Principals: \n\s+alice\n/);

      // the page's drop-in for a real host is the bundle's, installed in /etc/ssh/pkim
      const bundleDir = join(run.work, 'host');
      const dropIn = readFileSync(join(bundleDir, 'sshd_config.d', 'pkim.conf'), 'utf8').replaceAll(
        bundleDir,
        '/etc/ssh/pkim',
      );
      expect(markedBlock(doc(), 'ssh-drop-in')).toBe(dropIn);
    } finally {
      tmp.cleanup();
    }
  }, 180_000);

  it('puts the host certificate where the bundle drop-in reads it (HostCertificate) in every command', () => {
    const paths = [...doc().matchAll(/(\/[\w./-]*\/)?ssh_host_ed25519_key-cert\.pub/g)].map((m) => m[1] ?? './');
    expect(paths.filter((p) => p !== './')).not.toEqual([]);
    // the quick start's own files are relative (its private sshd); everything else is the installed bundle's place
    expect(paths.filter((p) => p !== './' && p !== '/etc/ssh/pkim/')).toEqual([]);
  });
});
