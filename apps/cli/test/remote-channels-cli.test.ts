// Remote mode for the channel commands (issue #17 item 2): Vault mounts, SPIFFE, ACME, the SSH CA and registry, bulk
// CSV issuance and batch revocation/download (server-side jobs, polled) run once on a local data directory and once
// through a `pkim serve`; every step must end with the same exit code and the same `--json` (ids, serials, keys and
// times aside). KNOWN_DIFFERENT: the SSH steps whose local JSON is not yet the contract's object.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { sshKeygen } from '../../../tests/support/openssh';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-channels-');
const file = (name: string) => join(tmp.dir, name);
// both installs with one public URL: the ACME directory objects' directoryUrl is then the same in both modes (without
// one the server gives the origin a call reached it at, the local CLI null: cli-output-files, api-contract)
const XDG = { XDG_CONFIG_HOME: file('xdg'), PKIM_PUBLIC_URL: 'https://pki.example.test' };

const VOLATILE = [
  'token',
  'hmacKey',
  'kid',
  'expiresAt',
  'fingerprint',
  'publicKey',
  'keyFingerprint',
  'certificate',
  'line',
  'validAfter',
  'validBefore',
  'keyId',
  'userCaKeys',
  'knownHosts',
  'batchId',
  'certificateId',
  'createdBy',
  'deniedBy',
  'deniedAt',
  'issuedBy',
  'provisioner',
  'directoryPath',
  'oldKeptUntil',
  'inBundleUntil',
  'enabledAt',
  'enabledBy',
  'revoked',
  'generatedAt',
];
const shape = (v: unknown): unknown => comparableShape(v, tmp.dir, VOLATILE);

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bob', '-f', f('bob')]);
  writeFileSync(
    f('rows.csv'),
    'cn,sans,profile\na.example.com,a.example.com,tls-server\nb.example.com,b.example.com,tls-server\n' +
      'bad,not a name!,tls-server\n',
  );
  writeFileSync(f('good.csv'), 'cn,sans\nc.example.com,c.example.com\nd.example.com,d.example.com\n');

  await run('ca create', 'ca create --name ch-root --subject CN=Channels-Root --key-type ec-p256');
  // Vault PKI mounts
  await run('vault mount', 'vault mount pki --ca ch-root --default-ttl 72h');
  await run('vault mounts', 'vault mounts');
  // and its table: the same columns and cells in both modes (the CA by name), times aside
  const table = await pkim('vault', 'mounts');
  steps['vault mounts (table)'] = { code: table.code, json: table.stdout.replace(/\d{4}-[\d-]+T[\d:]+Z/g, '<time>') };
  await run('vault unmount', 'vault unmount pki');
  // SPIFFE
  await run('spiffe init', 'spiffe init --trust-domain example.org');
  await run('spiffe deny', 'spiffe deny spiffe://example.org/svc/bad --reason compromised');
  await run('spiffe denied', 'spiffe denied');
  await run('spiffe allow', 'spiffe allow spiffe://example.org/svc/bad');
  await run('spiffe list', 'spiffe list');
  await run('spiffe rotate', 'spiffe rotate transport');
  await run('spiffe status', 'spiffe status');
  // ACME
  await run('acme enable', 'acme enable --ca ch-root --allow-dns *.example.com --require-eab --lifetime 30d');
  await run('acme list', 'acme list');
  const eab = await run('acme eab create', 'acme eab create --ca ch-root');
  await run('acme eab list', 'acme eab list --ca ch-root');
  await run('acme eab revoke', `acme eab revoke ${String(eab.kid)}`);
  await run('acme accounts', 'acme accounts --ca ch-root');
  await run('acme disable', 'acme disable --ca ch-root');
  // SSH
  await run('ssh ca create', 'ssh ca create --name users --type user --max-ttl 8h');
  await run('ssh ca list', 'ssh ca list');
  await run('ssh ca show', 'ssh ca show users');
  await run('ssh env create', 'ssh env create staging --description stage');
  await run('ssh env list', 'ssh env list');
  await run('ssh user add', 'ssh user add bob');
  await run('ssh principal add', 'ssh principal add ops');
  await run('ssh principal grant', 'ssh principal grant --user bob --principal ops');
  await run('ssh host add', 'ssh host add web1.example.com');
  await run('ssh host map', 'ssh host map --host web1.example.com --account deploy --principal ops');
  const signed = await run(
    'ssh sign',
    `ssh sign --ca users --public-key ${f('bob.pub')} --principal ops --user bob --ttl 1h --out ${f('bob-cert.pub')}`,
  );
  await run('ssh list', 'ssh list --ca users');
  await run('ssh revoke', `ssh revoke ${String(signed.serial)} --ca users --reason left`);
  // the KRLs sshd reads: remotely from the routes the server publishes (no token needed)
  await run('ssh krl', `ssh krl --ca users --out ${f('users.krl')}`);
  await run('ssh trust', 'ssh trust');
  const block = await run('ssh block', 'ssh block --user bob --host web1.example.com --reason test');
  await run('ssh krl --host', `ssh krl --host web1.example.com --out ${f('web1.krl')}`);
  await run('ssh blocks', 'ssh blocks');
  await run('ssh unblock', `ssh unblock ${String(block.id)}`);
  await run('ssh user disable', 'ssh user disable bob');
  await run('ssh fleet-token create', 'ssh fleet-token create --name fleet1 --operations sign-host');
  await run('ssh fleet-token list', 'ssh fleet-token list');
  // bulk CSV and batches (jobs on the server)
  await run(
    'cert bulk dry run',
    `cert bulk --ca ch-root --csv ${f('rows.csv')} --dry-run --keep-key --profile tls-server`,
  );
  await run(
    'cert bulk',
    `cert bulk --ca ch-root --csv ${f('good.csv')} --keep-key --profile tls-server --out ${f('results.json')}`,
  );
  await run('cert revoke-batch', 'cert revoke-batch --ca ch-root --search c.example.com --reason superseded');
  // tls-server does not allow key reuse: the batch is refused before any renewal, in both modes
  await run('cert renew-batch --reuse-key', 'cert renew-batch --ca ch-root --search d.example.com --reuse-key');
  await run('cert download-batch', `cert download-batch --ca ch-root --status active --out ${f('certs.zip')}`);
  return steps;
}

describe('pkim remote mode: channel commands give the same JSON as local mode', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and the same JSON (ssh trust and ssh host map included)', () => {
    const { local, remote } = runs;
    expectSameSteps(local, remote, shape);
    expect(local['vault mounts (table)']!.json).toMatch(/^pki\/\s+ch-root\s+0\s+3d\s/m);
    // the rotated transport CA signed no SVID: it left the bundle at once, status lists the bundle's three CAs
    const spiffeStatus = local['spiffe status']!.json as { bundleCas: { role: string; state: string }[] };
    expect(spiffeStatus.bundleCas.map((c) => `${c.role} ${c.state}`)).toEqual([
      'root current',
      'services current',
      'transport current',
    ]);
    expect(local['cert bulk dry run']!.code).toBe(5);
    expect(local['cert bulk']!.code).toBe(0);
    expect(local['cert renew-batch --reuse-key']!.json).toMatchObject({
      error: { code: 'renewal.key_reuse_not_allowed' },
    });
    expect(local['cert renew-batch --reuse-key']!.code).toBe(5);
    expect(Object.values(local).filter((s) => s.code === 0).length).toBeGreaterThan(35);
  });

  it("what the server made: the SSH certificate, the KRLs, the bulk results and the certificates' ZIP", () => {
    expect(readFileSync(file('remote-out/bob-cert.pub'), 'utf8')).toMatch(/^ssh-ed25519-cert-v01@openssh\.com /);
    // OpenSSH reads the KRLs fetched from the server (and those written locally): bob's revoked certificate is in
    // the CA's and the host's
    for (const mode of ['remote-out', 'local-out'])
      for (const krl of ['users.krl', 'web1.krl']) {
        const q = sshKeygen(['-Q', '-f', file(`${mode}/${krl}`), file(`${mode}/bob-cert.pub`)]);
        expect(q.stdout, `${mode}/${krl}: ${q.stderr}`).toMatch(/: REVOKED$/m);
      }
    const results = JSON.parse(readFileSync(file('remote-out/results.json'), 'utf8')) as { issued: number };
    expect(results.issued).toBe(2);
    const zip = readFileSync(file('remote-out/certs.zip'));
    expect(zip.subarray(0, 2).toString()).toBe('PK');
  });

  it('ssh krl needs no token: a host fetches the same KRL with only the server named', async () => {
    const r = await runPkimAsync(['ssh', 'krl', '--ca', 'users', '--out', file('no-token.krl'), '--json'], {
      dataDir: file('no-data-here'),
      init: false,
      env: { ...XDG, PKIM_SERVER: runs.server.url },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ scope: (runs.remote['ssh krl']!.json as { scope: string }).scope });
    const q = sshKeygen(['-Q', '-f', file('no-token.krl'), file('remote-out/bob-cert.pub')]);
    expect(q.stdout, q.stderr).toMatch(/: REVOKED$/m);
    const unknown = await runPkimAsync(['ssh', 'krl', '--ca', 'nobody', '--out', file('x.krl')], {
      dataDir: file('no-data-here'),
      init: false,
      env: { ...XDG, PKIM_SERVER: runs.server.url },
    });
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/^error: ssh\.ca_not_found: /m);
  });
});
