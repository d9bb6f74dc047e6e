// `pkim cert list --sort` in both modes (a local data directory, and a `pkim serve` through REST
// `GET /api/v1/certificates` and `/certificates/export`): every order the API's certificate list takes, in the table,
// in `--json` (the API's page object, the same keys with or without --sort) and in the csv report; a bad order is
// refused in one line, exit ≠ 0, before anything is read. Three certificates are issued with lifetimes out of their
// issuance order and two are revoked in the reverse of theirs (the second revocation a later millisecond than the
// first: the flow waits for the clock to pass it), so each order differs from the others. openssl verifies the
// certificates against the CA.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkimAsync } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { opensslVerify } from '../../../tests/support/verifiers';
import { bothModesSuite, comparableShape, expectSameSteps, stepRecorder } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-cert-list-sort-');
const file = (name: string) => join(tmp.dir, name);
const XDG = { XDG_CONFIG_HOME: file('xdg') };

/** issuance order a, b, c; lifetimes b < c < a; revoked: c, then a */
const EXPECTED: Record<string, string[]> = {
  default: ['c', 'b', 'a'],
  issued_desc: ['c', 'b', 'a'],
  expiry_asc: ['b', 'c', 'a'],
  expiry_desc: ['a', 'c', 'b'],
  revoked_desc: ['a', 'c'],
};
const LIFETIMES = { a: '30d', b: '10d', c: '20d' } as const;

/** per mode: the CA's PEM, each order's table, the csv report's names, the bad order's refusal */
const made: Record<
  string,
  {
    caPem: string;
    tables: Record<string, string>;
    csv: string;
    bad: { code: number; stderr: string; stdout: string };
  }
> = {};

const cn = (name: string) => `${name}.sort.example.com`;
const names = (json: unknown) =>
  ((json as { items?: { commonName: string }[] }).items ?? []).map((i) => i.commonName.split('.')[0]);

async function flow(pkim: (...args: string[]) => ReturnType<typeof runPkimAsync>, dir: string) {
  mkdirSync(dir, { recursive: true });
  const { steps, run } = stepRecorder(pkim);
  const ca = await run('ca create', 'ca create --name sort-root --subject CN=Sort-Root --key-type ec-p256');
  const serials: Record<string, string> = {};
  for (const [name, ttl] of Object.entries(LIFETIMES)) {
    const out = join(dir, name);
    const issued = await run(
      `cert issue ${name}`,
      `cert issue --ca sort-root --cn ${cn(name)} --ttl ${ttl} --out-cert ${out}`,
    );
    serials[name] = String(issued.serial);
  }
  const first = await run('cert revoke c', `cert revoke ${serials.c!} --reason superseded`);
  // the second revocation a later millisecond than the first, so revocation time alone orders them
  const firstAt = Date.parse(String(first.revokedAt));
  while (Date.now() <= firstAt) await new Promise((r) => setTimeout(r, 1));
  await run('cert revoke a', `cert revoke ${serials.a!} --reason superseded`);
  const tables: Record<string, string> = {};
  for (const sort of Object.keys(EXPECTED)) {
    const option = sort === 'default' ? '' : ` --sort ${sort}`;
    await run(`cert list${option}`, `cert list --ca sort-root${option}`);
    tables[sort] = (await pkim(...`cert list --ca sort-root${option}`.split(' '))).stdout;
  }
  const csv = (await pkim('cert', 'list', '--ca', 'sort-root', '--sort', 'revoked_desc', '--format', 'csv')).stdout;
  await run('cert list --sort bogus', 'cert list --sort bogus');
  const bad = await pkim('cert', 'list', '--sort', 'bogus');
  made[dir] = { caPem: String(ca.certificatePem), tables, csv, bad };
  return steps;
}

describe('pkim cert list --sort, local and remote', () => {
  const runs = bothModesSuite(tmp.dir, XDG, flow, { after: () => tmp.cleanup() });

  it('every step: the same exit code and the same JSON in both modes', () => {
    expectSameSteps(runs.local, runs.remote, (json) => comparableShape(json, tmp.dir, []));
  });

  it.each(['local', 'remote'] as const)('%s: --json lists each order, the page object unchanged', (mode) => {
    const steps = runs[mode];
    const plain = steps['cert list']!.json as Record<string, unknown>;
    for (const [sort, order] of Object.entries(EXPECTED)) {
      const step = steps[sort === 'default' ? 'cert list' : `cert list --sort ${sort}`]!;
      expect(step.code, JSON.stringify(step.json)).toBe(0);
      expect(names(step.json), sort).toEqual(order);
      expect(Object.keys(step.json as object).sort(), sort).toEqual(Object.keys(plain).sort());
    }
  });

  it.each(['local-out', 'remote-out'])('%s: the table and the csv report come in the order asked', (mode) => {
    const { tables, csv } = made[file(mode)]!;
    const inTable = (text: string) =>
      text
        .split('\n')
        .map((l) => /\b([abc])\.sort\.example\.com\b/.exec(l)?.[1])
        .filter((n): n is string => n !== undefined);
    for (const [sort, order] of Object.entries(EXPECTED)) expect(inTable(tables[sort]!), sort).toEqual(order);
    expect(inTable(csv)).toEqual(['a', 'c']);
  });

  it.each(['local', 'remote'] as const)('%s: an unknown order is refused in one line, exit ≠ 0', (mode) => {
    const step = runs[mode]['cert list --sort bogus']!;
    expect(step.code).not.toBe(0);
    expect(step.json).toMatchObject({ error: { code: 'input.invalid' } });
    const { bad } = made[file(`${mode}-out`)]!;
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/unknown sort 'bogus' \(use issued_desc, expiry_asc, expiry_desc or revoked_desc\)/),
    ]);
  });

  it.each(['local-out', 'remote-out'])('%s: the certificates verify against the CA (openssl)', (mode) => {
    const { caPem } = made[file(mode)]!;
    for (const name of Object.keys(LIFETIMES)) {
      const v = opensslVerify({ leafPem: readFileSync(file(`${mode}/${name}`), 'utf8'), rootPem: caPem });
      expect(v.ok, `${name}: ${v.output}`).toBe(true);
    }
  });
});
