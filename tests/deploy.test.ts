// Issue #11 item 6: deploy/Dockerfile and deploy/pkim.service. `docker build` cannot run on this machine type and
// Debian packages no Dockerfile linter (hadolint), so the Dockerfile is parsed here and checked for what matters:
// multi-stage, non-root user, the data volume, a healthcheck and an exec-form entry point. The systemd unit is checked
// by `systemd-analyze verify`; the example config file by the CLI's own config loader.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCliConfig } from '../apps/cli/src/config/cli-config';
import { REPO_ROOT } from './support/cli-runner';
import { tempDir } from './support/openssl-tools';

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile → instructions (comments dropped, `\` continuations joined), grouped by stage. */
export function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(current + line);
    current = '';
  }
  if (current) logical.push(current);
  const stages: Instruction[][] = [];
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+([\s\S]*)$/.exec(l);
    if (!m) throw new Error(`not a Dockerfile instruction: ${l}`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim() };
    if (ins.op === 'FROM') stages.push([]);
    if (stages.length === 0) throw new Error(`instruction before FROM: ${l}`);
    stages[stages.length - 1]!.push(ins);
  }
  return stages;
}

/** The problems of a Dockerfile for running PKI Manager in production. */
export function dockerfileProblems(text: string): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push('not multi-stage (one FROM)');
  const final = stages[stages.length - 1] ?? [];
  const all = (op: string) => final.filter((i) => i.op === op);
  const last = (op: string) => all(op).at(-1);
  const user = last('USER')?.args.split(':')[0];
  if (!user) problems.push('final stage has no USER (runs as root)');
  else if (user === 'root' || user === '0') problems.push(`final stage runs as ${user}`);
  const env = new Map<string, string>();
  for (const e of all('ENV')) for (const m of e.args.matchAll(/(\w+)=(\S+)/g)) env.set(m[1]!, m[2]!);
  const volumes = all('VOLUME').flatMap((v) =>
    v.args.startsWith('[') ? (JSON.parse(v.args) as string[]) : v.args.split(/\s+/),
  );
  const dataDir = env.get('PKIM_DATA_DIR');
  if (!dataDir) problems.push('PKIM_DATA_DIR is not set in the final stage');
  else if (!volumes.includes(dataDir)) problems.push(`the data dir ${dataDir} is not a VOLUME`);
  const health = last('HEALTHCHECK');
  if (!health || /^NONE$/i.test(health.args)) problems.push('no HEALTHCHECK');
  else if (!/\bCMD\b[\s\S]*\/healthz/.test(health.args)) problems.push('HEALTHCHECK does not probe /healthz');
  const entry = last('ENTRYPOINT');
  if (!entry) problems.push('no ENTRYPOINT');
  else if (!entry.args.startsWith('[')) problems.push('ENTRYPOINT is not exec form (signals would not reach pkim)');
  else if (!(JSON.parse(entry.args) as string[])[0]?.endsWith('pkim')) problems.push('ENTRYPOINT does not run pkim');
  if (!all('EXPOSE').some((e) => e.args.split(/\s+/).includes(env.get('PKIM_PORT') ?? '8200')))
    problems.push('the server port is not EXPOSEd');
  if (final.some((i) => i.op === 'COPY' && !i.args.includes('--from=')))
    problems.push('the final stage copies from the build context (sources) instead of the build stage');
  return problems;
}

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');

  it('is multi-stage, runs as non-root, keeps data on a volume, has a healthcheck and an exec entry point', () => {
    expect(dockerfileProblems(dockerfile)).toEqual([]);
    const final = parseDockerfile(dockerfile).at(-1)!;
    expect(final.find((i) => i.op === 'USER')?.args).toBe('pkim:pkim');
    expect(final.find((i) => i.op === 'CMD')?.args).toBe('["serve"]');
  });

  it('positive controls: finds a root user, a missing volume/healthcheck and a shell-form entry point', () => {
    const without = (op: string) =>
      dockerfile
        .split('\n')
        .filter((l) => !l.startsWith(op))
        .join('\n');
    expect(dockerfileProblems(without('USER'))).toEqual(['final stage has no USER (runs as root)']);
    expect(dockerfileProblems(dockerfile.replace('USER pkim:pkim', 'USER root'))).toEqual(['final stage runs as root']);
    expect(dockerfileProblems(without('VOLUME'))).toEqual(['the data dir /var/lib/pkim is not a VOLUME']);
    // the HEALTHCHECK spans two lines (continuation): drop both
    const noHealth = dockerfile.replace(/HEALTHCHECK[^\n]*\\\n[^\n]*\n/, '');
    expect(dockerfileProblems(noHealth)).toEqual(['no HEALTHCHECK']);
    expect(dockerfileProblems(dockerfile.replace('ENTRYPOINT ["pkim"]', 'ENTRYPOINT pkim'))).toEqual([
      'ENTRYPOINT is not exec form (signals would not reach pkim)',
    ]);
    const oneStage = dockerfile.slice(dockerfile.indexOf('FROM node:20-bookworm-slim AS runtime'));
    expect(dockerfileProblems(oneStage)).toContain('not multi-stage (one FROM)');
  });
});

describe('deploy/pkim.service and deploy/pkim.toml', () => {
  const tmp = tempDir('pkim-deploy-');
  afterAll(() => tmp.cleanup());
  const unit = readFileSync(join(REPO_ROOT, 'deploy/pkim.service'), 'utf8');

  /** systemd-analyze verify's complaints (the ExecStart binary is swapped for /bin/true: pkim is not installed) */
  function verify(text: string): string {
    const file = join(tmp.dir, 'pkim.service');
    writeFileSync(file, text.replace(/^ExecStart=\/usr\/local\/bin\/pkim/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
    if (r.error) throw new Error(`systemd-analyze is missing (Debian package systemd): ${r.error.message}`);
    return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? '' : ` (exit ${r.status})`);
  }

  it('systemd-analyze verify accepts the unit; it runs pkim serve as the pkim user with a 0700 state dir', () => {
    expect(verify(unit)).toBe('');
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/pkim serve$/m);
    expect(unit).toMatch(/^User=pkim$/m);
    expect(unit).toMatch(/^StateDirectoryMode=0700$/m);
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    // positive control: a misspelt key is reported
    expect(verify(unit.replace('User=pkim', 'Usr=pkim'))).toMatch(/Unknown key 'Usr'/);
  });

  it('the example config file is valid for the CLI config loader', async () => {
    const path = join(REPO_ROOT, 'deploy/pkim.toml');
    const c = await loadCliConfig({ env: {}, flags: { config: path } });
    expect(c.dataDir).toBe('/var/lib/pkim');
    expect(c.logFormat).toBe('json');
    expect(c.env.PKIM_PORT).toBe('8200');
  });
});
