// Local and `--server` alike for bad input: for every command that runs in both modes (remote-command-table.ts
// REMOTE_COMMANDS), one bad input — an unknown reference, a value the command refuses, a file that is not there —
// gives the same exit code and the same error code in both modes (the contract's error object, one line, with
// --json); and the read commands' --json answers have the same keys (the items' keys too). A command of the
// table without a row here fails the test, naming it.
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REMOTE_COMMANDS } from '../src/remote/remote-command-table';
import { inBothModes, type CliStep, type PkimServer } from '../../../tests/support/remote-server';
import { opensslCsr, tempDir } from '../../../tests/support/openssl-tools';

/**
 * command path → a bad input of it, or several (each option that takes a closed list of values: one bad value each)
 * (`OUT`: the mode's own directory, where a file given to it would be)
 */
const BAD: Record<string, string | string[]> = {
  'ca list': 'ca list --expiring-within 30x',
  'ca show': 'ca show no-such-ca',
  'ca create': 'ca create --name root --subject CN=Again',
  'ca import': 'ca import no-such-ca --cert OUT/missing.pem',
  'ca import-existing': 'ca import-existing --cert OUT/web.csr --key OUT/web.csr',
  'ca export': 'ca export no-such-ca',
  'ca disable': 'ca disable no-such-ca',
  'ca enable': 'ca enable no-such-ca',
  'ca rename': 'ca rename issuing root',
  'ca set-urls': 'ca set-urls issuing --base not-a-url',
  'ca set-leaf-not-after': 'ca set-leaf-not-after issuing forever',
  'ca revoke': 'ca revoke no-such-ca --reason keyCompromise',
  'ca renew': 'ca renew no-such-ca',
  'ca rotate': 'ca rotate no-such-ca',
  'ca revoke-cross': 'ca revoke-cross no-such-ca',
  'ca delete': 'ca delete issuing',
  'ca truststore': 'ca truststore issuing --format jks --out OUT/t.jks',
  'cert sign': 'cert sign --ca issuing --csr OUT/not-a-csr.txt',
  'cert issue': 'cert issue --ca issuing --cn outside.example.net',
  'cert list': ['cert list --sort bogus', 'cert list --status bogus'],
  'cert show': 'cert show 0badc0de',
  'cert revoke': 'cert revoke 0badc0de --reason keyCompromise',
  'cert delete': 'cert delete 0badc0de',
  'cert export': 'cert export 0badc0de --format pem',
  'cert renew': 'cert renew 0badc0de',
  'cert bulk': 'cert bulk --ca issuing --csv OUT/bad.csv',
  'cert revoke-batch': 'cert revoke-batch --serials-file OUT/missing.txt',
  'cert renew-batch': 'cert renew-batch --profile no-such-profile',
  'cert download-batch': 'cert download-batch --ca no-such-ca --out OUT/certs.zip',
  'crl generate': 'crl generate --ca no-such-ca',
  dashboard: 'dashboard --bogus',
  'audit list': 'audit list --limit 0',
  'audit actors': ['audit actors --limit 0', 'audit actors --cursor not-a-cursor'],
  'audit verify': 'audit verify --bogus',
  'request list': 'request list --status bogus',
  'request show': 'request show req_0mx627yjffe75d9ed73c0eb7b8aa1',
  'request submit': 'request submit --ca no-such-ca --csr OUT/web.csr',
  'request certificate': 'request certificate req_0mx627yjffe75d9ed73c0eb7b8aa1',
  'request approve': 'request approve req_0mx627yjffe75d9ed73c0eb7b8aa1',
  'request reject': 'request reject req_0mx627yjffe75d9ed73c0eb7b8aa1 --reason no',
  'profile list': 'profile list --bogus',
  'profile show': 'profile show no-such-profile',
  'profile create': 'profile create --file OUT/not-a-csr.txt',
  'profile update': 'profile update tls-server --file OUT/profile.json',
  'profile delete': 'profile delete tls-server',
  'token create': 'token create --name x --role emperor',
  'token list': 'token list --bogus',
  'token revoke': 'token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1',
  'user create': 'user create alice --role emperor',
  'user list': 'user list --bogus',
  'user set-role': 'user set-role nobody auditor',
  'user unlock': 'user unlock nobody',
  'user disable': 'user disable nobody',
  'user reset-password': 'user reset-password nobody',
  'notify rule add': 'notify rule add r1 --webhook not-a-url',
  'notify rule list': 'notify rule list --bogus',
  'notify rule rotate-secret': 'notify rule rotate-secret no-such-rule',
  'notify rule remove': 'notify rule remove no-such-rule',
  'notify rule enable': 'notify rule enable no-such-rule',
  'notify rule disable': 'notify rule disable no-such-rule',
  'notify deliveries': 'notify deliveries --status bogus',
  'vault mount': 'vault mount pki_x --ca no-such-ca',
  'vault unmount': 'vault unmount no-such-mount',
  'vault mounts': 'vault mounts --bogus',
  'spiffe init': 'spiffe init --trust-domain NOT_A_DOMAIN',
  'spiffe status': 'spiffe status --bogus',
  'spiffe bundle': 'spiffe bundle',
  'spiffe list': 'spiffe list --bogus',
  'spiffe deny': 'spiffe deny https://not-spiffe/x --reason x',
  'spiffe allow': 'spiffe allow https://not-spiffe/x',
  'spiffe denied': 'spiffe denied --bogus',
  'spiffe rotate': 'spiffe rotate services',
  'spiffe purge': 'spiffe purge --bogus',
  'acme enable': 'acme enable --ca no-such-ca',
  'acme disable': 'acme disable --ca no-such-ca',
  'acme list': 'acme list --bogus',
  'acme accounts': 'acme accounts --ca no-such-ca',
  'acme eab create': 'acme eab create --ca no-such-ca',
  'acme eab list': 'acme eab list --ca no-such-ca',
  'acme eab revoke': 'acme eab revoke eab_0mx627yjffe75d9ed73c0eb7b8aa1',
  'ssh ca create': 'ssh ca create --name u --type teapot',
  'ssh ca list': 'ssh ca list --environment no-such-env',
  'ssh ca show': 'ssh ca show no-such-ca',
  'ssh ca rotate': 'ssh ca rotate --type user --environment no-such-env',
  'ssh ca retire': 'ssh ca retire --bogus',
  'ssh sign': 'ssh sign --ca no-such-ca --public-key OUT/missing.pub --principal a',
  'ssh list': 'ssh list --status bogus',
  'ssh revoke': 'ssh revoke 1 --ca no-such-ca',
  'ssh krl': 'ssh krl --ca no-such-ca --out OUT/x.krl',
  'ssh trust': 'ssh trust --environment no-such-env',
  'ssh env create': 'ssh env create Not/A/Name',
  'ssh env list': 'ssh env list --bogus',
  'ssh host add': 'ssh host add web1 --environment no-such-env',
  'ssh host list': 'ssh host list --environment no-such-env',
  'ssh host map': 'ssh host map --host nohost --account a --principal p',
  'ssh host bundle': 'ssh host bundle --host nohost --out OUT/bundle',
  'ssh user add': 'ssh user add Not/A/Name',
  'ssh user list': 'ssh user list --bogus',
  'ssh user disable': 'ssh user disable nobody',
  'ssh user enable': 'ssh user enable nobody',
  'ssh principal add': 'ssh principal add Not/A/Name',
  'ssh principal list': 'ssh principal list --bogus',
  'ssh principal grant': 'ssh principal grant --user nobody --principal p',
  'ssh principal ungrant': 'ssh principal ungrant --user nobody --principal p',
  'ssh block': 'ssh block --user nobody',
  'ssh unblock': 'ssh unblock blk_0mx627yjffe75d9ed73c0eb7b8aa1',
  'ssh blocks': 'ssh blocks --bogus',
  'ssh fleet-token create': 'ssh fleet-token create --name t --environment no-such-env',
  'ssh fleet-token list': 'ssh fleet-token list --bogus',
  'ssh fleet-token revoke': 'ssh fleet-token revoke tok_0mx627yjffe75d9ed73c0eb7b8aa1',
};

/**
 * read commands whose --json answers (on the same data) must have the same keys (`audit actors` is not one: local
 * mode acts as cli:<OS user>, no name to list, so its items are none — audit-actors-both-modes-cli compares the modes)
 */
const READS = [
  'ca list',
  'ca show issuing',
  'cert list',
  'request list',
  'audit list --limit 5',
  'dashboard',
  'profile list',
  'profile show tls-server',
  'token list',
  'user list',
  'notify rule list',
  'notify deliveries',
  'vault mounts',
  'spiffe denied',
  'acme list',
  'ssh ca list',
  'ssh env list',
  'ssh host list',
  'ssh user list',
  'ssh principal list',
  'ssh blocks',
  'ssh fleet-token list',
  'ssh trust',
];

/** the keys of a JSON answer, and of its items' first element: what a script reading it relies on */
function keys(json: unknown): unknown {
  if (!json || typeof json !== 'object') return typeof json;
  const o = json as Record<string, unknown>;
  const items = Array.isArray(o.items) ? (o.items[0] as object | undefined) : undefined;
  return { keys: Object.keys(o).sort(), items: items ? Object.keys(items).sort() : null };
}

const tmp = tempDir('pkim-both-modes-errors-');
const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };

/** exit code, and the error's code (JSON) or its line count (text) */
interface Refusal {
  code: number;
  error: string;
  lines: number;
}
const refusals: Record<string, { local?: Refusal; remote?: Refusal }> = {};

type Steps = Record<string, CliStep>;
const suite: { server?: PkimServer; local: Steps; remote: Steps } = { local: {}, remote: {} };
// ≈ 300 commands in each mode: longer than bothModesSuite's 240 s on a loaded machine
beforeAll(async () => {
  Object.assign(suite, await inBothModes(tmp.dir, XDG, flow));
}, 900_000);
afterAll(async () => {
  await suite.server?.stop();
  tmp.cleanup();
});

async function flow(pkim: Parameters<Parameters<typeof inBothModes>[2]>[0], out: string): Promise<Steps> {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'web.csr'), opensslCsr({ keyType: 'ec-p256', subject: '/CN=web.example.com' }).csrPem);
  writeFileSync(join(out, 'not-a-csr.txt'), 'hello\n');
  writeFileSync(join(out, 'bad.csv'), 'cn,sanz\na.example.com,a.example.com\n');
  writeFileSync(join(out, 'profile.json'), '{"name":"tls-server"}');
  const steps: Record<string, CliStep> = {};
  const setup = async (line: string) => {
    const r = await pkim(...line.split(' '));
    if (r.code !== 0) throw new Error(`pkim ${line}: ${r.stderr}`);
  };
  await setup('ca create --name root --subject CN=Modes-Root');
  await setup('ca create --name issuing --parent root --subject CN=Modes-Issuing --permit-dns example.com');
  await setup('cert issue --ca issuing --cn a.example.com');
  // a token and a user beside the server's own (its admin token, its first-boot administrator)
  await setup('token create --name reader --role auditor');
  await setup('user create bob --role auditor');
  for (const line of READS) {
    const r = await pkim(...line.split(' '), '--json');
    steps[`read ${line}`] = { code: r.code, json: r.code === 0 ? keys(JSON.parse(r.stdout)) : r.stderr };
  }
  const mode = out.endsWith('remote-out') ? 'remote' : 'local';
  const bad = Object.entries(BAD).flatMap(([path, lines]) =>
    Array.isArray(lines) ? lines.map((line) => [`${path} (${line})`, line] as const) : [[path, lines] as const],
  );
  for (const [path, line] of bad) {
    const args = line.replaceAll('OUT', out).split(' ');
    const json = await pkim(...args, '--json');
    let error = '';
    try {
      error = (JSON.parse(json.stderr) as { error: { code: string } }).error.code;
    } catch {
      error = `not JSON: ${json.stderr}`;
    }
    (refusals[path] ??= {})[mode] = { code: json.code, error, lines: json.stderr.trim().split('\n').length };
    steps[`bad ${path}`] = { code: json.code, json: error };
  }
  return steps;
}

describe('local and --server alike for bad input and in their --json keys', () => {
  it('every command of both modes has a bad input here', () => {
    expect(Object.keys(REMOTE_COMMANDS).filter((p) => !(p in BAD))).toEqual([]);
    expect(Object.keys(BAD).filter((p) => !(p in REMOTE_COMMANDS))).toEqual([]);
  });

  it('the same exit code and error code, one line of text, nothing printed as success', () => {
    const differ: string[] = [];
    for (const [path, { local, remote }] of Object.entries(refusals)) {
      expect.soft(local?.code, `${path} (local) exits ≠ 0`).not.toBe(0);
      expect.soft(local?.lines, `${path}: one line (local)`).toBe(1);
      expect.soft(remote?.lines, `${path}: one line (remote)`).toBe(1);
      if (local?.code !== remote?.code || local?.error !== remote?.error) {
        differ.push(`${path}: local ${local?.code} ${local?.error}, remote ${remote?.code} ${remote?.error}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it('the read commands answer with the same keys', () => {
    for (const line of READS) {
      expect.soft(suite.remote[`read ${line}`], line).toEqual(suite.local[`read ${line}`]);
    }
  });
});
