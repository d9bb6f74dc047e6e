// `--expiring-within <duration>` of `pkim ca list` and `pkim cert list` in both modes (a local data directory, and
// through a `pkim serve`: REST `GET /api/v1/cas?expiringWithin=…`, `GET /api/v1/certificates?expiringWithin=…` and the
// inventory export): `ca list` lists only the CAs whose certificate ends within the duration, soonest first — one
// already expired listed too (status `expired`: the most urgent), a revoked one not; `30d` and `720h` the same; the
// text table shows the days left. `cert list` applies the same window in both modes (36 hours are 36 hours, not two
// days: the remote list rounded up to whole days before), to the page and to the csv/json report. A bad duration is
// refused alike (exit 2, `input.invalid`). The expired root is made beforehand in both data directories by an
// authority whose clock is 40 days back (a 30-day root). openssl reads every CA certificate listed — its end is the
// one the list shows, and it verifies (the expired root at a time inside its validity) — and verifies the leaves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { fixedClock } from '@pkim/shared';
import { createAuthority, type Actor } from '@pkim/authority';
import { runPkim, runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslRaw, opensslVerify } from '../../../tests/support/verifiers';
import {
  comparableShape,
  expectSameSteps,
  inBothModes,
  stepRecorder,
  type CliStep,
  type PkimServer,
} from '../../../tests/support/remote-server';

const DAY = 86_400_000;
const admin: Actor = { id: 'usr_ca_expiring', name: 'alice', role: 'admin' };
const tmp = tempDir('pkim-expiring-within-');
const XDG = { XDG_CONFIG_HOME: join(tmp.dir, 'xdg') };

interface CaJson {
  name: string;
  status: string;
  notAfter: string;
  notBefore: string;
}
interface ModeRun {
  steps: Record<string, CliStep>;
  /** `ca list --expiring-within 30d` as text */
  table: string;
  /** name → certificate PEM and chain (`ca show --json`) */
  pems: Record<string, { certificatePem: string; chainPem: string }>;
  /** `cert list --expiring-within W --format json`: the common names */
  reports: Record<string, string[]>;
  leaves: Leaf[];
}
interface Leaf {
  commonName: string;
  notAfter: string;
  certificatePem: string;
}
const runs: Record<string, ModeRun> = {};

/** a 30-day root made 40 days ago: expired 10 days before the test */
async function seedExpiredRoot(dataDir: string): Promise<void> {
  const init = runPkim(['init', '--json'], { dataDir });
  if (init.code !== 0) throw new Error(`pkim init: ${init.stderr}`);
  const a = await createAuthority({
    dataDir,
    clock: fixedClock(Date.now() - 40 * DAY),
    logger: pino({ level: 'silent' }),
  });
  try {
    await a.cas.create(
      { name: 'old-root', subject: 'CN=Expiry Old Root', keyType: 'ec-p256', validityMs: 30 * DAY },
      admin,
    );
  } finally {
    await a.close();
  }
}

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, out: string) {
  mkdirSync(out, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  await run('root', 'ca create --name root --subject CN=Expiry-Root --key-type ec-p256');
  await run('short', 'ca create --name short --parent root --subject CN=Expiry-Short --validity 20d');
  await run('medium', 'ca create --name medium --parent root --subject CN=Expiry-Medium --validity 60d');
  await run('gone', 'ca create --name gone --parent root --subject CN=Expiry-Gone --validity 10d');
  await run('revoke gone', 'ca revoke gone --reason superseded');
  await run('list 30d', 'ca list --expiring-within 30d');
  await run('list 720h', 'ca list --expiring-within 720h');
  await run('list 90d', 'ca list --expiring-within 90d');
  await run('list all', 'ca list');
  await run('list bad unit', 'ca list --expiring-within 30x');
  await run('list zero', 'ca list --expiring-within 0');
  const soon = await run('issue soon', 'cert issue --ca short --cn soon.example.com --ttl 40h');
  const later = await run('issue later', 'cert issue --ca short --cn later.example.com --ttl 5d');
  await run('certs 36h', 'cert list --expiring-within 36h');
  await run('certs 2d', 'cert list --expiring-within 2d');
  await run('certs 6d', 'cert list --expiring-within 6d');
  await run('certs bad', 'cert list --expiring-within 30x');
  const report = async (within: string) =>
    (
      JSON.parse((await pkim('cert', 'list', '--expiring-within', within, '--format', 'json')).stdout) as {
        common_name: string;
      }[]
    ).map((r) => r.common_name);
  const reports = { '36h': await report('36h'), '2d': await report('2d') };
  const table = (await pkim('ca', 'list', '--expiring-within', '30d')).stdout;
  const pems: ModeRun['pems'] = {};
  for (const name of ['old-root', 'root', 'short', 'medium']) {
    const shown = await pkim('ca', 'show', name, '--json');
    pems[name] = shown.json<{ certificatePem: string; chainPem: string }>();
  }
  runs[out] = { steps, table, pems, reports, leaves: [soon, later] as unknown as Leaf[] };
  return steps;
}

const suite: { server?: PkimServer; local: Record<string, CliStep>; remote: Record<string, CliStep> } = {
  local: {},
  remote: {},
};
beforeAll(async () => {
  await seedExpiredRoot(join(tmp.dir, 'local-data'));
  await seedExpiredRoot(join(tmp.dir, 'server-data'));
  Object.assign(suite, await inBothModes(tmp.dir, XDG, flow));
}, 300_000);
afterAll(async () => {
  await suite.server?.stop();
  tmp.cleanup();
});

const items = (step: CliStep | undefined) => ((step?.json ?? {}) as { items?: CaJson[] }).items ?? [];
const namesAndStatus = (step: CliStep | undefined) => items(step).map((c) => `${c.name} ${c.status}`);
const modes = () =>
  [
    ['local', suite.local, runs[join(tmp.dir, 'local-out')]!],
    ['remote', suite.remote, runs[join(tmp.dir, 'remote-out')]!],
  ] as const;

describe('pkim ca list / cert list --expiring-within', { timeout: 120_000 }, () => {
  it('lists the CAs ending within the duration, soonest first, the expired one first and marked', () => {
    for (const [mode, steps] of modes()) {
      expect(steps.root?.code, `${mode}: ${JSON.stringify(steps.root?.json)}`).toBe(0);
      expect(steps['revoke gone']?.code, mode).toBe(0);
      expect(namesAndStatus(steps['list 30d']), mode).toEqual(['old-root expired', 'short active']);
      expect(items(steps['list 720h']), mode).toEqual(items(steps['list 30d']));
      expect(namesAndStatus(steps['list 90d']), mode).toEqual(['old-root expired', 'short active', 'medium active']);
      expect(steps['list 30d']?.json, mode).toMatchObject({ nextCursor: null });
      // without the option: every CA, the revoked one and the 10-year root included
      expect(namesAndStatus(steps['list all']).sort(), mode).toEqual([
        'gone revoked',
        'medium active',
        'old-root expired',
        'root active',
        'short active',
      ]);
    }
  });

  it('cert list: the same window in both modes, to the hour, for the page and the report', () => {
    const names = (step: CliStep | undefined) =>
      (((step?.json ?? {}) as { items?: { commonName: string }[] }).items ?? []).map((c) => c.commonName);
    for (const [mode, steps, run] of modes()) {
      expect(steps['issue soon']?.code, mode).toBe(0);
      // 40 hours left: not within 36 hours, within 2 days
      expect(names(steps['certs 36h']), mode).toEqual([]);
      expect(names(steps['certs 2d']), mode).toEqual(['soon.example.com']);
      expect(names(steps['certs 6d']).sort(), mode).toEqual(['later.example.com', 'soon.example.com']);
      expect(run.reports, mode).toEqual({ '36h': [], '2d': ['soon.example.com'] });
      for (const leaf of run.leaves) {
        const v = opensslVerify({
          leafPem: leaf.certificatePem,
          chainPems: [run.pems.short!.certificatePem],
          rootPem: run.pems.root!.certificatePem,
          purpose: 'sslserver',
        });
        expect(v.ok, `${mode} ${leaf.commonName}: ${v.output}`).toBe(true);
        const end = opensslRaw(['x509', '-noout', '-enddate'], Buffer.from(leaf.certificatePem)).stdout;
        expect(new Date(end.trim().replace(/^notAfter=/, '')).toISOString()).toBe(leaf.notAfter);
      }
    }
  });

  it('refuses a bad duration in both modes with one line, exit 2 and input.invalid', () => {
    for (const [mode, steps] of modes()) {
      for (const bad of ['list bad unit', 'list zero', 'certs bad']) {
        expect(steps[bad]?.code, `${mode} ${bad}`).toBe(2);
        expect(steps[bad]?.json, `${mode} ${bad}`).toMatchObject({ error: { code: 'input.invalid' } });
      }
    }
  });

  it('answers the same in both modes (--json is the API page)', () => {
    // the server's CRL job has signed the CAs' CRLs: the local ones have none yet
    const shape = (json: unknown) => comparableShape(json, tmp.dir, ['crlNumber']);
    expectSameSteps(suite.local, suite.remote, shape);
  });

  it('prints the days left in the text table: "expired" for the expired root', () => {
    for (const [mode, , run] of modes()) {
      const lines = run.table.split('\n');
      expect(lines[0], mode).toMatch(/NOT AFTER\s+DAYS LEFT\s+SUBJECT/);
      const col = lines[0]!.indexOf('DAYS LEFT');
      const row = (name: string) => lines.find((l) => l.split(/\s+/)[1] === name) ?? '';
      expect(row('old-root').slice(col).split(/\s+/)[0], mode).toBe('expired');
      // 20 days from its creation, read seconds later: 19 whole days
      expect(row('short').slice(col).split(/\s+/)[0], mode).toBe('19');
      expect(lines.filter((l) => l.startsWith('ca_')).length, mode).toBe(2);
    }
  });

  it('openssl reads the listed ends from the CA certificates, which verify', () => {
    for (const [mode, steps, run] of modes()) {
      for (const ca of items(steps['list 90d'])) {
        const pem = run.pems[ca.name]!;
        const end = opensslRaw(['x509', '-noout', '-enddate'], Buffer.from(pem.certificatePem)).stdout;
        expect(new Date(end.trim().replace(/^notAfter=/, '')).toISOString(), `${mode} ${ca.name}`).toBe(
          new Date(ca.notAfter).toISOString(),
        );
        const root = ca.name === 'old-root' ? pem.certificatePem : run.pems.root!.certificatePem;
        const v = opensslVerify({
          leafPem: pem.certificatePem,
          rootPem: root,
          purpose: 'any',
          atTime: Math.floor(Date.parse(ca.notBefore) / 1000) + 3600,
        });
        expect(v.ok, `${mode} ${ca.name}: ${v.output}`).toBe(true);
      }
      // the expired root no longer verifies today
      const now = opensslVerify({
        leafPem: run.pems['old-root']!.certificatePem,
        rootPem: run.pems['old-root']!.certificatePem,
        purpose: 'any',
      });
      expect(now.ok, mode).toBe(false);
      expect(now.output, mode).toMatch(/expired/);
    }
  });
});
