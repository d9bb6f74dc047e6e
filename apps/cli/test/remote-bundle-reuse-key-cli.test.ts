// Two commands in both modes, once on a local data directory and once through a `pkim serve` (one shared
// PKIM_PROFILES_FILE with a profile that allows key reuse, read by the local CLI and by the server):
// - `pkim cert renew-batch --reuse-key` that succeeds: two certificates whose keys the server kept (`cert bulk
//   --keep-key`) are renewed; openssl reads the same public key in each old and new certificate and verifies the new
//   ones against the CA. (remote-channels-cli.test.ts has the refusal: a profile without allowKeyReuse.)
// - `pkim spiffe bundle`: `spiffe.not_initialized` before `spiffe init` in both modes; after it, remotely the bundle
//   the server publishes (GET /pki/ca/bundle, no token needed), equal to what the server's own data directory gives
//   locally; openssl verifies each bundle's intermediates against its root.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_IN_PROFILES } from '@pkim/core';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { openssl, tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-remote-reuse-');
const file = (name: string) => join(tmp.dir, name);
const NAMES = ['a.reuse.example.com', 'b.reuse.example.com'];
/** tls-server whose renewals may keep the key, as an operator writes it in the file (lifetimes as durations) */
const { defaultLifetimeMs: _default, maxLifetimeMs: _max, ...TLS_SERVER } = BUILT_IN_PROFILES['tls-server'];
const REUSE_PROFILE = {
  ...TLS_SERVER,
  name: 'tls-server-reuse',
  defaultLifetime: '30d',
  maxLifetime: '90d',
  allowKeyReuse: true,
};
const ENV = { XDG_CONFIG_HOME: file('xdg'), PKIM_PROFILES_FILE: file('profiles.json') };
const VOLATILE = ['batchId', 'items', 'trustDomain', 'servicesBundle', 'transportBundle', 'version', 'expiresAt'];

interface Outcome {
  succeeded: number;
  failed: number;
  items: { serial: string; newSerial: string }[];
}

/** per mode: the old and new PEM of each renewed certificate, the CA's PEM, the bundle */
const made: Record<string, { pairs: [string, string][]; caPem: string; bundle: Record<string, unknown> }> = {};

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  const { steps, run } = stepRecorder(pkim);
  const f = (name: string) => join(dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(f('rows.csv'), `cn,sans\n${NAMES.map((n) => `${n},${n}`).join('\n')}\n`);
  await run('spiffe bundle (not initialised)', 'spiffe bundle');
  const ca = await run('ca create', 'ca create --name rk-root --subject CN=Reuse-Root --key-type ec-p256');
  await run(
    'cert bulk --keep-key',
    `cert bulk --ca rk-root --csv ${f('rows.csv')} --keep-key --profile tls-server-reuse --out ${f('bulk.json')}`,
  );
  const renewed = (await run(
    'cert renew-batch --reuse-key',
    'cert renew-batch --ca rk-root --search reuse.example.com --reuse-key',
  )) as unknown as Outcome;
  const pairs: [string, string][] = [];
  for (const item of renewed.items ?? []) {
    const pem = async (serial: string) =>
      (await pkim('cert', 'show', serial, '--json')).json<{ certificatePem: string }>().certificatePem;
    pairs.push([await pem(item.serial), await pem(item.newSerial)]);
  }
  await run('spiffe init', 'spiffe init --trust-domain example.org');
  const bundle = await run('spiffe bundle', 'spiffe bundle');
  made[dir] = { pairs, caPem: String(ca.certificatePem), bundle };
  return steps;
}

describe('pkim cert renew-batch --reuse-key and spiffe bundle, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, ENV, flow, {
    before: () => writeFileSync(ENV.PKIM_PROFILES_FILE, JSON.stringify([REUSE_PROFILE], null, 2)),
    after: () => tmp.cleanup(),
  });

  it('every step: the same exit code and the same JSON in both modes', () => {
    expectSameSteps(runs.local, runs.remote, (json) => comparableShape(json, tmp.dir, VOLATILE));
    expect(runs.local['spiffe bundle (not initialised)']!.json).toMatchObject({
      error: { code: 'spiffe.not_initialized' },
    });
    expect(runs.local['spiffe bundle (not initialised)']!.code).not.toBe(0);
  });

  it.each(['local-out', 'remote-out'])('%s: each renewal carries the old public key (openssl)', (mode) => {
    const { pairs, caPem } = made[file(mode)]!;
    const step = (mode === 'local-out' ? runs.local : runs.remote)['cert renew-batch --reuse-key']!;
    expect(step.code, JSON.stringify(step.json)).toBe(0);
    expect(step.json).toMatchObject({ succeeded: 2, failed: 0 });
    expect(pairs).toHaveLength(2);
    const publicKey = (pem: string) => {
      const r = openssl(['x509', '-in', '@c.pem', '-noout', '-pubkey'], { 'c.pem': pem });
      expect(r.ok, r.output).toBe(true);
      return r.output.trim();
    };
    const seen = new Set<string>();
    for (const [before, after] of pairs) {
      expect(after).not.toBe(before);
      expect(publicKey(after)).toBe(publicKey(before));
      seen.add(publicKey(after));
      const v = opensslVerify({ leafPem: after, chainPems: [], rootPem: caPem, purpose: 'sslserver' });
      expect(v.ok, v.output).toBe(true);
    }
    // two certificates, two keys: each kept its own
    expect(seen.size).toBe(2);
  });

  it("spiffe bundle --server: the server's published bundle, as its own data dir gives it (openssl)", async () => {
    const published = made[file('remote-out')]!.bundle;
    const onServer = await runPkimAsync(['spiffe', 'bundle', '--json'], { dataDir: file('server-data'), env: ENV });
    expect(onServer.code, onServer.stderr).toBe(0);
    expect(published).toEqual(onServer.json());
    // no token: a workload names only the server
    const noToken = await runPkimAsync(['spiffe', 'bundle', '--json'], {
      dataDir: file('no-data-here'),
      init: false,
      env: { ...ENV, PKIM_SERVER: runs.server.url },
    });
    expect(noToken.code, noToken.stderr).toBe(0);
    expect(noToken.json()).toEqual(published);
    for (const b of [published, made[file('local-out')]!.bundle]) {
      expect(b.trustDomain).toBe('example.org');
      for (const list of [b.servicesBundle, b.transportBundle] as string[][]) {
        const root = list.at(-1)!;
        for (const ca of list.slice(0, -1)) {
          const v = opensslVerify({ leafPem: ca, chainPems: [], rootPem: root });
          expect(v.ok, v.output).toBe(true);
        }
      }
    }
  });
});
