// THE place the CLI — and `pkim serve` — reads its configuration: the optional config file, the environment and the
// global flags, validated at start-up. Nothing else in packages/*/src or apps/*/src reads `process.env`
// (tests/architecture.test.ts): the result is passed down as explicit options (`createAuthority({ env })`,
// `startServer({ env })`). Loaded on first use by the CLI context (a dynamic import: `pkim --help` loads none of it).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { PkiError, parseDuration } from '@pkim/shared';
import { CONFIG_SETTING, SETTINGS, type Setting } from './settings';
import { loginProfilePath, readLoginProfile } from './login-profile';

export type LogFormat = 'auto' | 'json' | 'pretty';

/** Remote mode: the server the commands run against, through its REST API. */
export interface RemoteTarget {
  /** base URL (`https://pki.example.com`) */
  server: string;
  /** API token; missing only when nothing gave one (commands other than `pkim login` then refuse) */
  token?: string;
  /** PEM CA certificate(s) trusted for an https:// server */
  caFile?: string;
  /** where the server came from, for messages: `--server flag`, `environment PKIM_SERVER`, `login profile …` */
  source: string;
  /** the login profile is unusable (unreadable, readable by others…): every remote command refuses with this */
  problem?: PkiError;
}

export interface CliConfig {
  /** absolute path of the config file read, or null */
  configFile: string | null;
  dataDir: string;
  databaseUrl?: string;
  publicUrl?: string;
  /** unset: the command's default (serve: info, other commands: silent) */
  logLevel?: string;
  logFormat: LogFormat;
  /** default lifetime of new API tokens; null = never expire */
  tokenTtlMs: number | null;
  /** how long a batch runs before its progress bar shows on a terminal */
  progressDelayMs: number;
  /**
   * Every setting as an environment-style map after precedence (config file < environment < global flags), over
   * the rest of the process environment: what the packages' own parsers read (PKCS#11, KMIP, SPIFFE, ACME, sign-in
   * throttling, child processes such as pg_dump).
   */
  env: Record<string, string | undefined>;
  /** remote mode (--server, PKIM_SERVER, the config file's `server`, or the `pkim login` profile); null: local */
  remote: RemoteTarget | null;
  /** the `pkim login` profile: `$XDG_CONFIG_HOME/pkim/config.json` (default `~/.config/pkim/config.json`) */
  profilePath: string;
}

export interface ConfigSources {
  /** the process environment (default: `process.env`, read here and nowhere else) */
  env?: Record<string, string | undefined>;
  /** global flags: `--config`, `--data-dir`, `--database-url` */
  flags?: {
    config?: string;
    dataDir?: string;
    databaseUrl?: string;
    server?: string;
    token?: string;
    caFile?: string;
    /** --local: ignore PKIM_SERVER, the config file's `server` and the login profile */
    local?: boolean;
  };
  /** directory relative paths of the environment and flags resolve against (default: the working directory) */
  cwd?: string;
}

/** The process environment. The one read of `process.env` in the CLI and server sources. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));

const DURATION_PROBLEM = 'expected a duration such as 90d, 12h, 30m';

/** true when `check` does not throw */
function passes(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

/**
 * The problem with a setting's value, or null when it is valid. Plain checks, no schema library: every command
 * validates its configuration first, so this code is on the path of `pkim ca list` (start-up time).
 */
function problemOf(s: Setting, v: string): string | null {
  switch (s.kind) {
    case 'int':
      return /^\d+$/.test(v) ? null : 'expected a whole number';
    case 'port':
      return /^\d+$/.test(v) && Number(v) <= 65535 ? null : 'expected a TCP port (0-65535)';
    case 'bool':
      return /^(true|false|1|0|yes|no)$/i.test(v) ? null : 'expected true or false';
    case 'duration':
      if (s.key === 'tokenTtl' && v === 'never') return null;
      return passes(() => parseDuration(v)) ? null : DURATION_PROBLEM;
    case 'enum':
      return s.values?.includes(v) ? null : `expected one of ${s.values?.join(', ')}`;
    case 'url':
      return passes(() => new URL(v)) ? null : 'expected a URL such as https://pki.example.com';
    default:
      return null; // any non-empty string (empty values are skipped)
  }
}

/** a config file value: a string, number, boolean or a list of strings and numbers */
function isFileValue(v: unknown): v is string | number | boolean | (string | number)[] {
  const scalar = (x: unknown) => typeof x === 'string' || typeof x === 'number';
  return scalar(v) || typeof v === 'boolean' || (Array.isArray(v) && v.every(scalar));
}

/**
 * A parser's complaint on one line, with where it is: smol-toml's message says no line (its `line`/`column`
 * and a code excerpt follow), yaml's first line ends `at line L, column C:` before its excerpt.
 */
function syntaxProblem(e: unknown): string {
  const first = (((e as Error)?.message ?? String(e)).split('\n')[0] ?? '').replace(/:\s*$/, '');
  const { line, column } = (e ?? {}) as { line?: unknown; column?: unknown };
  if (typeof line === 'number' && typeof column === 'number' && !/\bline \d/.test(first))
    return `${first} at line ${line}, column ${column}`;
  return first;
}

/** Reads and parses a config file by its extension: `.toml`, `.yaml`/`.yml`, `.json`. */
async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  if (!existsSync(path)) throw new PkiError('config.invalid', `config file '${path}' does not exist`);
  if (!statSync(path).isFile()) throw new PkiError('config.invalid', `config file '${path}' is not a file`);
  const text = readFileSync(path, 'utf8');
  const ext = extname(path).toLowerCase();
  let data: unknown;
  try {
    if (ext === '.json') data = JSON.parse(text);
    else if (ext === '.toml') data = (await import('smol-toml')).parse(text);
    else if (ext === '.yaml' || ext === '.yml') data = (await import('yaml')).parse(text);
    else
      throw new PkiError(
        'config.invalid',
        `config file '${path}': unknown format '${ext}' (use .toml, .yaml or .json)`,
      );
  } catch (e) {
    if (e instanceof PkiError) throw e;
    const format = ext === '.yml' ? 'YAML' : ext.slice(1).toUpperCase();
    throw new PkiError('config.invalid', `config file '${path}' is not valid ${format}: ${syntaxProblem(e)}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new PkiError('config.invalid', `config file '${path}' must hold a table/object of settings`);
  return data as Record<string, unknown>;
}

function closest(key: string): string | undefined {
  const k = key.toLowerCase().replace(/[_-]/g, '');
  return SETTINGS.find((s) => s.key.toLowerCase() === k || s.env.toLowerCase().replace(/[_-]/g, '') === k)?.key;
}

/**
 * Loads the configuration: config file (`--config` or PKIM_CONFIG; optional) < environment < global flags.
 * Every value is validated; problems are reported together as `config.invalid` naming the setting and its source.
 */
export async function loadCliConfig(sources: ConfigSources = {}): Promise<CliConfig> {
  const env = sources.env ?? processEnvironment();
  const flags = sources.flags ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];

  const configPath = flags.config || env[CONFIG_SETTING.env] || undefined;
  const configFile = configPath ? resolve(cwd, configPath) : null;
  const fromFile: Record<string, string> = {};
  if (configFile) {
    const data = await readConfigFile(configFile);
    for (const [key, raw] of Object.entries(data)) {
      const setting = BY_KEY.get(key);
      if (!setting) {
        const hint = closest(key);
        problems.push(`'${key}' (config file) is not a setting${hint ? ` (did you mean '${hint}'?)` : ''}`);
        continue;
      }
      if (!isFileValue(raw)) {
        problems.push(`'${key}' (config file) must be a string, number, boolean or list`);
        continue;
      }
      let value = Array.isArray(raw) ? raw.join(',') : String(raw);
      // relative paths in a config file are relative to the file
      if (setting.kind === 'path' && value) value = resolve(dirname(configFile), value);
      fromFile[setting.env] = value;
    }
  }

  const merged: Record<string, string | undefined> = { ...fromFile };
  // an empty variable is unset — but PKIM_MASTER_KEY set and empty is kept, for the authority to refuse
  // (kms.master_key_empty: a `$(cat FILE)` of a missing file must not start on a master.key made for the occasion)
  for (const [k, v] of Object.entries(env)) if (v !== undefined && (v !== '' || k === 'PKIM_MASTER_KEY')) merged[k] = v;
  if (flags.dataDir) merged.PKIM_DATA_DIR = flags.dataDir;
  if (flags.databaseUrl) merged.PKIM_DATABASE_URL = flags.databaseUrl;
  const flagValues: Record<string, string | undefined> = {
    PKIM_DATA_DIR: flags.dataDir,
    PKIM_DATABASE_URL: flags.databaseUrl,
    PKIM_SERVER: flags.server,
    PKIM_TOKEN: flags.token,
    PKIM_CA_FILE: flags.caFile,
  };
  for (const [k, v] of Object.entries(flagValues)) if (v) merged[k] = v;

  const source = (s: Setting): string =>
    flagValues[s.env] ? `${s.flag} flag` : env[s.env] ? `environment ${s.env}` : `config file key '${s.key}'`;
  for (const s of SETTINGS) {
    const v = merged[s.env];
    if (v === undefined || v === '') continue;
    const problem = problemOf(s, v);
    if (problem) {
      const shown = s.kind === 'secret' ? '(hidden)' : `'${v}'`;
      problems.push(`${source(s)} = ${shown}: ${problem}`);
    }
  }
  if (problems.length > 0) {
    throw new PkiError(
      'config.invalid',
      `invalid configuration${configFile ? ` (config file ${configFile})` : ''}: ${problems.join('; ')}`,
      { details: { problems, configFile } },
    );
  }

  const tokenTtl = merged.PKIM_TOKEN_TTL ?? '90d';
  const profilePath = loginProfilePath(merged);
  return {
    configFile,
    dataDir: resolve(cwd, merged.PKIM_DATA_DIR ?? './data'),
    databaseUrl: merged.PKIM_DATABASE_URL,
    publicUrl: merged.PKIM_PUBLIC_URL,
    logLevel: merged.PKIM_LOG_LEVEL,
    logFormat: (merged.PKIM_LOG_FORMAT as LogFormat | undefined) ?? 'auto',
    tokenTtlMs: tokenTtl === 'never' ? null : parseDuration(tokenTtl),
    progressDelayMs: Number(merged.PKIM_PROGRESS_DELAY_MS ?? 2000),
    env: merged,
    remote: flags.local ? null : remoteTarget(merged, flagValues, env, profilePath, cwd),
    profilePath,
  };
}

/** flags > environment > config file > the `pkim login` profile (whose token also serves its own server). */
function remoteTarget(
  merged: Record<string, string | undefined>,
  flags: Record<string, string | undefined>,
  env: Record<string, string | undefined>,
  profilePath: string,
  cwd: string,
): RemoteTarget | null {
  const caFile = merged.PKIM_CA_FILE ? resolve(cwd, merged.PKIM_CA_FILE) : undefined;
  let profile: ReturnType<typeof readLoginProfile>;
  try {
    profile = readLoginProfile(profilePath);
  } catch (e) {
    // reported by the commands that would use it; `pkim logout` still removes it; --server does without it
    if (!merged.PKIM_SERVER) return { server: '', source: `login profile ${profilePath}`, problem: e as PkiError };
    profile = null;
  }
  const server = merged.PKIM_SERVER;
  if (server) {
    const source = flags.PKIM_SERVER ? '--server flag' : env.PKIM_SERVER ? 'environment PKIM_SERVER' : 'config file';
    const same = profile && sameServer(profile.server, server) ? profile : undefined;
    return { server, token: merged.PKIM_TOKEN ?? same?.token, caFile: caFile ?? same?.caFile, source };
  }
  if (!profile) return null;
  return {
    server: profile.server,
    token: merged.PKIM_TOKEN ?? profile.token,
    caFile: caFile ?? profile.caFile,
    source: `login profile ${profilePath}`,
  };
}

const sameServer = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
