// Issue #10 item 10 / #11 item 6: configuration is read in ONE place (apps/cli/src/config/cli-config.ts) from an
// optional config file (TOML, YAML, JSON), the environment and the flags — in that order of precedence — and
// validated at start-up with clear errors; the README's table is rendered from the one settings list.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PkiError } from '@pkim/shared';
import { loadCliConfig } from '../src/config/cli-config';
import { SETTINGS } from '../src/config/settings';
import { readmeWithConfigTable, renderConfigTable } from '../../../scripts/render-config-docs';
import { REPO_ROOT, runPkim } from '../../../tests/support/cli-in-process';
import { tempDir } from '../../../tests/support/openssl-tools';
import { startPkimServer } from '../../../tests/support/remote-server';

const tmp = tempDir('pkim-config-');
afterAll(() => tmp.cleanup());

function file(name: string, text: string): string {
  const p = join(tmp.dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

async function configError(p: Promise<unknown>): Promise<PkiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected config.invalid').toBeInstanceOf(PkiError);
  expect((e as PkiError).code).toBe('config.invalid');
  return e as PkiError;
}

describe('config file, environment, flags', () => {
  it('reads TOML, YAML and JSON files with the same keys; relative paths are relative to the file', async () => {
    const toml = file('t/pkim.toml', 'dataDir = "state"\nport = 9100\npublicUrl = "https://pki.example.com"\n');
    const yaml = file('y/pkim.yaml', 'dataDir: state\nport: 9100\npublicUrl: https://pki.example.com\n');
    const json = file(
      'j/pkim.json',
      JSON.stringify({ dataDir: 'state', port: 9100, publicUrl: 'https://pki.example.com' }),
    );
    for (const [path, dir] of [
      [toml, 't'],
      [yaml, 'y'],
      [json, 'j'],
    ] as const) {
      const c = await loadCliConfig({ env: {}, flags: { config: path }, cwd: '/' });
      expect(c.configFile).toBe(path);
      expect(c.dataDir).toBe(join(tmp.dir, dir, 'state'));
      expect(c.publicUrl).toBe('https://pki.example.com');
      expect(c.env.PKIM_PORT).toBe('9100');
    }
  });

  it('precedence: flag > environment > config file > default; PKIM_CONFIG names the file', async () => {
    const path = file('p/pkim.toml', 'dataDir = "/from-file"\nlogLevel = "debug"\nhost = "0.0.0.0"\n');
    const c = await loadCliConfig({
      env: { PKIM_CONFIG: path, PKIM_DATA_DIR: '/from-env', PKIM_HOST: '10.0.0.1' },
      flags: { dataDir: '/from-flag' },
    });
    expect(c.dataDir).toBe('/from-flag');
    expect(c.env.PKIM_HOST).toBe('10.0.0.1'); // env over file
    expect(c.logLevel).toBe('debug'); // file over default
    expect(c.env.PKIM_TLS_CLIENT_CERTS).toBeUndefined();
    const none = await loadCliConfig({ env: {}, cwd: '/srv' });
    expect(none.configFile).toBeNull();
    expect(none.dataDir).toBe('/srv/data');
    expect(none.tokenTtlMs).toBe(90 * 86_400_000);
    expect((await loadCliConfig({ env: { PKIM_TOKEN_TTL: 'never' } })).tokenTtlMs).toBeNull();
  });

  it('refuses bad values, naming each setting and its source; secrets are not echoed', async () => {
    const path = file('bad/pkim.toml', 'port = 99999\nlogFormat = "xml"\n');
    const e = await configError(
      loadCliConfig({ env: { PKIM_CONFIG: path, PKIM_PUBLIC_URL: 'not a url', PKIM_KMIP_API_KEY: '' } }),
    );
    expect(e.message).toContain(`config file key 'port' = '99999': expected a TCP port`);
    expect(e.message).toContain(`config file key 'logFormat' = 'xml': expected one of auto, json, pretty`);
    expect(e.message).toContain(`environment PKIM_PUBLIC_URL = 'not a url': expected a URL`);
    const secret = await configError(loadCliConfig({ env: { PKIM_PKCS11_SLOT: 'x', PKIM_PKCS11_PIN: '' } }));
    expect(secret.message).toContain('PKIM_PKCS11_SLOT');
    const hidden = await configError(
      loadCliConfig({
        env: {},
        flags: { config: file('s/pkim.json', JSON.stringify({ masterKey: ['a', { b: 1 }] })) },
      }),
    );
    expect(hidden.message).toContain(`'masterKey' (config file) must be a string`);
  });

  it('refuses unknown keys (with a hint), a missing file, bad syntax and unknown formats', async () => {
    const unknown = await configError(
      loadCliConfig({ env: {}, flags: { config: file('u/pkim.json', '{"data_dir": "/x", "colour": 1}') } }),
    );
    expect(unknown.message).toContain(`'data_dir' (config file) is not a setting (did you mean 'dataDir'?)`);
    expect(unknown.message).toContain(`'colour' (config file) is not a setting`);
    const missing = await configError(loadCliConfig({ env: { PKIM_CONFIG: join(tmp.dir, 'nope.toml') } }));
    expect(missing.message).toBe(`config file '${join(tmp.dir, 'nope.toml')}' does not exist`);
    const dir = join(tmp.dir, 'd/pkim.toml');
    mkdirSync(dir, { recursive: true });
    const notFile = await configError(loadCliConfig({ env: {}, flags: { config: dir } }));
    expect(notFile.message).toBe(`config file '${dir}' is not a file`);
    // the parser's complaint on one line, with the line and column where it is (a long file needs them)
    const toml = file('x/pkim.toml', 'dataDir = "/srv"\nport = = 1\n');
    const syntax = await configError(loadCliConfig({ env: {}, flags: { config: toml } }));
    expect(syntax.message).toBe(
      `config file '${toml}' is not valid TOML: Invalid TOML document: ` + `invalid value at line 2, column 8`,
    );
    const yml = file('x/pkim.yml', 'a: 1\nb: [1, 2\n');
    const yaml = await configError(loadCliConfig({ env: {}, flags: { config: yml } }));
    expect(yaml.message).toMatch(new RegExp(`^config file '${yml}' is not valid YAML: .* at line \\d+, column \\d+$`));
    const json = file('x/pkim.json', '{"port": 1');
    const badJson = await configError(loadCliConfig({ env: {}, flags: { config: json } }));
    expect(badJson.message).toMatch(/^config file '.*' is not valid JSON: .*position 10/);
    const format = await configError(loadCliConfig({ env: {}, flags: { config: file('x/pkim.ini', 'a=1') } }));
    expect(format.message).toMatch(/unknown format '\.ini'/);
  });

  it('the real CLI: --config sets the data dir; a bad config stops it (exit 2, one line), creating nothing', () => {
    const dataDir = join(tmp.dir, 'cli-state');
    const cfg = file('cli/pkim.yaml', `dataDir: ${dataDir}\n`);
    const ok = runPkim(['--config', cfg, '--json', 'init'], { dataDir: join(tmp.dir, 'from-env') });
    // PKIM_DATA_DIR from the runner's environment overrides the file (env > file) …
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json<{ dataDir: string }>().dataDir).toBe(join(tmp.dir, 'from-env'));
    // … and without it the file's data dir is used
    const fromFile = runPkim(['--config', cfg, '--json', 'init'], { dataDir: '', env: { PKIM_DATA_DIR: '' } });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.json<{ dataDir: string }>().dataDir).toBe(dataDir);
    expect(existsSync(join(dataDir, 'pkim.db'))).toBe(true);

    const elsewhere = join(tmp.dir, 'never-created');
    const bad = file('cli/bad.toml', `dataDir = "${elsewhere}"\njobsIntervalMs = "soon"\n`);
    const r = runPkim(['--config', bad, 'ca', 'list'], { dataDir: '', env: { PKIM_DATA_DIR: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `error: config.invalid: invalid configuration (config file ${bad}): config file key 'jobsIntervalMs' = ` +
        `'soon': expected a whole number`,
    ]);
    expect(existsSync(elsewhere)).toBe(false);
    const env = runPkim(['ca', 'list'], { dataDir: elsewhere, env: { PKIM_LOG_FORMAT: 'yaml' }, init: false });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('environment PKIM_LOG_FORMAT');
    expect(existsSync(elsewhere)).toBe(false);
  });

  it('PKIM_MASTER_KEY set but empty stops pkim serve and local commands (exit 2), creating nothing', async () => {
    // `export PKIM_MASTER_KEY="$(cat /secure/pkim-master.key)"` with the file missing: read as unset, the server
    // would make <data dir>/master.key and seal every new CA key under it
    const refusal = (dir: string) =>
      `error: kms.master_key_empty: PKIM_MASTER_KEY is set but empty (as \`export PKIM_MASTER_KEY="$(cat FILE)"\` ` +
      'leaves it when FILE is missing): set it to the master key (base64 of 32 bytes), or unset it to use ' +
      join(dir, 'master.key');
    const fresh = join(tmp.dir, 'mk-fresh');
    for (const empty of ['', ' \n']) {
      const init = runPkim(['init'], { dataDir: fresh, env: { PKIM_MASTER_KEY: empty }, init: false });
      expect(init.code, init.stderr).toBe(2);
      expect(init.stderr.trim().split('\n')).toEqual([refusal(fresh)]);
      expect(existsSync(fresh)).toBe(false);
    }
    /** `pkim --json serve`'s exit and its error object, or 'started' */
    const serve = (dir: string, env: Record<string, string>) =>
      startPkimServer(dir, [], env).then(
        async (server) => (await server.stop(), 'started'),
        (e: unknown) => {
          const text = (e as Error).message;
          const line = text.split('\n').find((l) => l.startsWith('{"error":'));
          return { exit: /^pkim serve exited \((\d+)\)/.exec(text)?.[1], ...JSON.parse(line ?? '{}') };
        },
      );
    const jsonRefusal = (dir: string) => ({
      exit: '2',
      error: expect.objectContaining({ code: 'kms.master_key_empty', message: refusal(dir).slice(29) }),
    });
    expect(await serve(fresh, { PKIM_MASTER_KEY: '' })).toEqual(jsonRefusal(fresh));
    expect(existsSync(fresh)).toBe(false);

    // a data directory made with the key in the environment (no master.key): the key missing from it later
    const dataDir = join(tmp.dir, 'mk-env');
    const key = randomBytes(32).toString('base64');
    const made = runPkim(['init'], { dataDir, env: { PKIM_MASTER_KEY: key }, init: false });
    expect(made.code, made.stderr).toBe(0);
    const files = readdirSync(dataDir).sort();
    expect(files).not.toContain('master.key');
    expect(await serve(dataDir, { PKIM_MASTER_KEY: '' })).toEqual(jsonRefusal(dataDir));
    const local = runPkim(['ca', 'create', '--subject', 'CN=Root', '--key-type', 'ec-p256'], {
      dataDir,
      env: { PKIM_MASTER_KEY: '' },
    });
    expect(local.code, local.stderr).toBe(2);
    expect(local.stderr.trim().split('\n')).toEqual([refusal(dataDir)]);
    expect(readdirSync(dataDir).sort()).toEqual(files);
    const cas = runPkim(['ca', 'list', '--json'], { dataDir, env: { PKIM_MASTER_KEY: key } });
    expect(cas.json<{ items: unknown[] }>().items).toEqual([]);
    // a config file's masterKey = "" is kept for the same refusal; other empty variables still mean unset
    const c = await loadCliConfig({
      env: { PKIM_PUBLIC_URL: '' },
      flags: { config: file('mk/pkim.toml', 'masterKey = ""\n') },
    });
    expect(c.env.PKIM_MASTER_KEY).toBe('');
    expect(c.env).not.toHaveProperty('PKIM_PUBLIC_URL');
  }, 120_000);
});

describe('the configuration table', () => {
  it('README.md carries the table rendered from the settings list (npm run docs:config)', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readmeWithConfigTable(readme), 'README.md is stale: run npm run docs:config').toBe(readme);
    for (const s of SETTINGS) expect(renderConfigTable()).toContain(`| \`${s.key}\` | \`${s.env}\` |`);
  });

  it('every PKIM_* variable the sources mention is a setting in the table', () => {
    const known = new Set(['PKIM_CONFIG', 'PKIM_BUNDLED', ...SETTINGS.map((s) => s.env)]);
    const out = execFileSync('sh', ['-c', "grep -rhoE 'PKIM_[A-Z0-9_]*[A-Z0-9]' packages/*/src apps/*/src"], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    const names = new Set(out.split('\n').filter((n) => n.length > 0));
    expect(names.size).toBeGreaterThan(40); // positive control: the scan sees the sources
    // `PKIM_KMIP_*` in a comment names a group: fine when settings of that group exist
    const missing = [...names].filter((n) => !known.has(n) && ![...known].some((k) => k.startsWith(`${n}_`)));
    expect(missing).toEqual([]);
  });
});
