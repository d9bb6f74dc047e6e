// `pkim ssh host bundle` locally and through a `pkim serve` alike: the same files in the bundle, revoked.krl included
// (remotely fetched from the route sshd hosts refresh it from, GET /ssh/krl/<environment>/hosts/<host>), the same
// bytes and the same text. The KRL is the host's: a revoked user certificate of the environment's user CA is REVOKED
// for `ssh-keygen -Q` (what sshd's RevokedKeys checks), one that is not revoked is not.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliTwoModesFixture } from '../../../tests/support/cli-two-modes-fixture';
import { generateSshKey, sshKeygen } from '../../../tests/support/openssh';

/** every file below `dir`, by its path relative to it, with its bytes (base64) */
function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[relative(dir, path)] = readFileSync(path).toString('base64');
  }
  return out;
}

/** `ssh-keygen -Q -f KRL CERT`: its line for the certificate (`…: REVOKED` or `…: ok`) */
const krlSays = (krl: string, cert: string) => {
  const r = sshKeygen(['-Q', '-f', krl, cert]);
  return `${r.stdout}${r.stderr}`.trim();
};

describe('pkim ssh host bundle: the same bundle locally and remotely, the host KRL in it', () => {
  const fx = cliTwoModesFixture('pkim-host-bundle-', 'Bundle');
  const { file, local, modes } = fx;

  const serials: Record<string, string> = {};

  beforeAll(() => {
    for (const args of [
      ['ssh', 'ca', 'create', '--name', 'bundle-users', '--type', 'user'],
      ['ssh', 'host', 'add', 'web1.example.com'],
    ]) {
      const r = local(...args);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const who of ['revoked', 'kept']) {
      generateSshKey(fx.dir, `${who}_key`);
      const pub = file(`${who}_key.pub`);
      const signed = local('ssh', 'sign', '--ca', 'bundle-users', '--public-key', pub, '--principal', who, '--json');
      expect(signed.code, signed.stderr).toBe(0);
      const { line, serial } = signed.json<{ line: string; serial: string | number }>();
      writeFileSync(file(`${who}-cert.pub`), `${line}\n`);
      serials[who] = String(serial);
    }
    const revoked = local('ssh', 'revoke', serials.revoked!, '--ca', 'bundle-users');
    expect(revoked.code, revoked.stderr).toBe(0);
  }, 120_000);

  it('writes the same files (revoked.krl included) with the same bytes and says the same in both modes', () => {
    const bundles: Record<string, Record<string, string>> = {};
    const said: Record<string, string> = {};
    for (const [mode, pkim] of modes) {
      const r = pkim('ssh', 'host', 'bundle', '--host', 'web1.example.com', '--out', file(`bundle-${mode}`));
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      bundles[mode] = filesOf(file(`bundle-${mode}`));
      said[mode] = r.stdout.replaceAll(file(`bundle-${mode}`), 'DIR');
    }
    expect(Object.keys(bundles.local!)).toContain('revoked.krl');
    expect(Object.keys(bundles.remote!).sort()).toEqual(Object.keys(bundles.local!).sort());
    expect(bundles.remote).toEqual(bundles.local);
    expect(said.remote).toBe(said.local);
    expect(said.local).toBe(`wrote ${Object.keys(bundles.local!).length} files to DIR\n`);
    for (const [mode] of modes) {
      const krl = file(`bundle-${mode}/revoked.krl`);
      expect(krlSays(krl, file('revoked-cert.pub')), mode).toMatch(/: REVOKED$/);
      expect(krlSays(krl, file('kept-cert.pub')), mode).toMatch(/: ok$/);
    }
  });
  it('ssh trust --user prints the TrustedUserCAKeys file as it is (ssh-keygen reads it); --host: no host CA', () => {
    const printed: Record<string, string> = {};
    for (const [mode, pkim] of modes) {
      const r = pkim('ssh', 'trust', '--user');
      expect(r.code, `${mode}: ${r.stderr}`).toBe(0);
      printed[mode] = r.stdout;
      // the whole output is the file: the key lines and nothing else, as the bundle's trusted_user_ca_keys.pub
      expect(r.stdout, mode).toBe(pkim('ssh', 'trust', '--json').json<{ userCaKeys: string }>().userCaKeys);
      writeFileSync(file(`trusted-${mode}.pub`), r.stdout);
      const read = sshKeygen(['-l', '-f', file(`trusted-${mode}.pub`)]);
      expect(read.status, `${mode}: ${read.stderr}`).toBe(0);
      expect(read.stdout.trim().split('\n'), mode).toHaveLength(1);
      // refusals in one line, exit ≠ 0, stdout empty (a redirected file gets no text that is no key)
      for (const [args, code] of [
        [['--host'], 'ssh.ca_not_found'],
        [['--user', '--host'], 'input.invalid'],
        [['--user', '--json'], 'input.invalid'],
      ] as const) {
        const refused = pkim('ssh', 'trust', ...args);
        expect([mode, args, refused.code === 0, refused.stdout], refused.stderr).toEqual([mode, args, false, '']);
        expect(refused.stderr.trimEnd().split('\n'), mode).toEqual([
          expect.stringMatching(`^(error: ${code}: |{"error":{"code":"${code}")`),
        ]);
      }
      // without --user/--host: both, under headers, to read
      expect(pkim('ssh', 'trust').stdout, mode).toBe(`# TrustedUserCAKeys\n${r.stdout}\n# known_hosts\n(no host CA)\n`);
    }
    expect(printed.remote).toBe(printed.local);
  });
});
