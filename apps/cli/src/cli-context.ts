import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { PkiError, toPkiError, type ErrorKind } from '@pkim/shared';
import type { Actor, Authority } from '@pkim/authority';
import type { Logger } from 'pino';
import type { CliConfig } from './config/cli-config';
import type { CliIo } from './cli-io';
import { silentLogger } from './silent-logger';

export interface GlobalOptions {
  dataDir: string;
  databaseUrl?: string;
  json: boolean;
}

export interface CliContext {
  /** loads and validates the configuration (config file, environment, global flags); before every action */
  loadConfig(): Promise<CliConfig>;
  /** the loaded configuration (config/cli-config.ts: the one place the environment is read) */
  config(): CliConfig;
  /** global flags (--data-dir, --database-url, --json), resolved with PKIM_* env and config-file fallbacks */
  options(): GlobalOptions;
  /** a logger to stderr (JSON lines, or human-readable on a terminal), at PKIM_LOG_LEVEL or `defaultLevel` */
  logger(defaultLevel: string): Promise<Logger>;
  /**
   * opens the authority on the data dir once; closed when the command ends. Refuses a data dir that was never
   * initialised (`data_dir.not_initialized`) unless `create` (only `pkim init` creates one)
   */
  openAuthority(opts?: {
    create?: boolean;
    /**
     * the warnings the command prints itself (`warn`): an issuance's, a file with a private key's. The authority's
     * log leaves out the records they stand for (`PRINTED_WARNING_CODES`), so a user at PKIM_LOG_LEVEL=warn reads
     * each once
     */
    printsWarnings?: readonly PrintedWarnings[];
  }): Promise<Authority>;
  /** the local operator: the CLI runs with admin rights on its data directory */
  actor: Actor;
  /** the API contract's wire mappers (loaded on first use): `--json` prints what REST and tRPC answer */
  contract(): Promise<typeof import('./lazy/contract-runtime')>;
  /**
   * writes the authority's failure records (`operation failed`, held back while the command runs) except those of
   * `reported`, the error the command ends with: its `error: …` line says it, once (a bulk row's stays a log line).
   * Records logged afterwards are written at once
   */
  releaseFailures(reported?: unknown): void;
  /** prints operator warnings on stderr (`warning: …`), whatever the output format */
  warn(warnings: string[] | undefined): void;
  /** prints `data` as JSON with --json, otherwise the human rendering */
  output(data: unknown, human: () => string): void;
  close(): Promise<void>;
  /** the run's streams, stdin and environment (run.ts): commands write through these, never process.stdout */
  io: CliIo;
  /** a command's exit code other than 0 without an error (a check that found problems); run() returns it */
  setExitCode(code: number): void;
  exitCode(): number;
}

/**
 * `--json` on a command whose output is no JSON (a shell script, CSV on stdout) is a usage error (exit 2) rather than
 * text a script would fail to parse; before the action, in both modes
 */
export function refuseJsonWithoutJson(command: Command, json: boolean): void {
  if (!json) return;
  const path = command.parent?.parent ? `${command.parent.name()} ${command.name()}` : command.name();
  const o = command.opts<{ format?: string; out?: string }>();
  if (path === 'completion')
    throw new PkiError('input.invalid', '--json: pkim completion prints a shell script, not JSON (drop --json)');
  if (path === 'cert list' && o.format === 'csv' && o.out === undefined)
    throw new PkiError(
      'input.invalid',
      '--json with --format csv: use --format json for JSON, or --out FILE for the CSV',
    );
}

/** the fields of an authority's failure record the CLI compares with the error it reports (recordFailure) */
export interface FailureRecord {
  code?: unknown;
  reason?: unknown;
}

/** the `code`s of the authority's log records a command's `warning: …` lines say again, by what the command does */
const PRINTED_WARNING_CODES = {
  /** an issuance's warnings (signing-pipeline.ts): cert issue, cert sign, request approve */
  issuance: ['ca.no_urls'],
  /** a file holding a private key (exports/export-service.ts): cert export, cert bulk --keys-zip */
  keyExport: ['private_key.exported'],
} as const;
export type PrintedWarnings = keyof typeof PRINTED_WARNING_CODES;

/** CLI exit codes by error kind (documented in the README). */
export const EXIT_CODES: Record<ErrorKind, number> = {
  internal: 1,
  invalid_input: 2,
  not_found: 3,
  conflict: 4,
  policy: 5,
  unauthenticated: 6,
  forbidden: 6,
  rate_limited: 7,
  unavailable: 7,
  timeout: 7,
};

export function createCliContext(program: Command, io: CliIo): CliContext {
  let exitCode = 0;
  let authority: Promise<Authority> | undefined;
  let loaded: CliConfig | undefined;
  const config = (): CliConfig => {
    if (!loaded) throw new PkiError('internal', 'the configuration was read before it was loaded');
    return loaded;
  };
  const options = (): GlobalOptions => {
    const c = config();
    return { dataDir: c.dataDir, databaseUrl: c.databaseUrl, json: !!program.opts<{ json?: boolean }>().json };
  };
  /** the authority's failure records until releaseFailures; undefined once released */
  let heldFailures: { record: FailureRecord; write: () => void }[] | undefined = [];
  const holdFailure = (record: FailureRecord, write: () => void) => {
    if (heldFailures) heldFailures.push({ record, write });
    else write();
  };
  const logger = async (
    defaultLevel: string,
    omitCodes?: readonly string[],
    hold?: typeof holdFailure,
  ): Promise<Logger> => {
    const level = config().logLevel ?? defaultLevel;
    if (level === 'silent') return silentLogger(); // pino loads only when something may be logged
    const { createCliLogger } = await import('./lazy/logging-runtime');
    return createCliLogger(level, config().logFormat, io, 2, omitCodes, hold);
  };
  let who = 'unknown';
  try {
    who = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return {
    async loadConfig() {
      const o = program.opts<{ config?: string; dataDir?: string; databaseUrl?: string; local?: boolean }>();
      const r = program.opts<{ server?: string; token?: string; caFile?: string }>();
      // zod and the config-file parsers load only here, never for --help
      const { loadCliConfig } = await import('./config/cli-config');
      loaded = await loadCliConfig({
        env: io.env,
        cwd: io.cwd,
        flags: { config: o.config, dataDir: o.dataDir, databaseUrl: o.databaseUrl, local: o.local, ...r },
      });
      return loaded;
    },
    config,
    options,
    logger: (defaultLevel) => logger(defaultLevel),
    actor: { id: `cli:${who}`, name: who, role: 'admin' },
    openAuthority(opts) {
      if (!authority) {
        const c = config();
        // loaded on first use (a separate chunk of the compiled CLI, see lazy/authority-runtime.ts)
        const omit = (opts?.printsWarnings ?? []).flatMap((w) => PRINTED_WARNING_CODES[w]);
        authority = Promise.all([import('./lazy/authority-runtime'), logger('silent', omit, holdFailure)]).then(
          ([{ createAuthority }, log]) =>
            createAuthority({
              dataDir: c.dataDir,
              databaseUrl: c.databaseUrl,
              logger: log,
              publicBaseUrl: c.publicUrl,
              env: c.env,
              create: opts?.create === true,
            }),
        );
      }
      return authority;
    },
    contract: () => import('./lazy/contract-runtime'),
    releaseFailures(reported) {
      const e = reported === undefined ? undefined : toPkiError(reported);
      const held = heldFailures ?? [];
      heldFailures = undefined;
      for (const { record, write } of held) if (!e || record.code !== e.code || record.reason !== e.message) write();
    },
    warn(warnings) {
      for (const w of warnings ?? []) io.stderr.write(`warning: ${w}\n`);
    },
    output(data, human) {
      if (options().json) io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else {
        const text = human();
        if (text) io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    async close() {
      if (authority) {
        const a = await authority.catch(() => undefined);
        authority = undefined;
        await a?.close();
      }
    },
    io,
    setExitCode(code) {
      exitCode = code;
    },
    exitCode: () => exitCode,
  };
}

/**
 * Prints the error on stderr — one line `error: <code>: <message>`, or with --json the contract's
 * `{ "error": { code, message, details? } }` — and returns the exit code.
 */
export function reportError(error: unknown, json: boolean, io: Pick<CliIo, 'stderr'>): number {
  const e = error instanceof PkiError ? error : toPkiError(error);
  if (json) {
    const details = Object.keys(e.details).length ? { details: e.details } : {};
    io.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, ...details } })}\n`);
  } else io.stderr.write(`error: ${e.code}: ${e.message.split('\n')[0]}\n`);
  return EXIT_CODES[e.kind] ?? 1;
}

/**
 * The text of one of commander's own errors (unknown option or command, missing argument or required option) in
 * the one form: `error: input.invalid: <message>` (exit code 2), or with --json the contract's error object.
 */
export function usageErrorText(commanderText: string, json: boolean): string {
  // commander puts its suggestion on a line of its own ("\n(Did you mean disable?)"): kept, on the one line
  const text = commanderText
    .replace(/^error: /, '')
    .trim()
    .replace(/\s*\n\s*/g, ' ');
  const message = `${text} (see pkim <command> --help)`;
  return json
    ? `${JSON.stringify({ error: { code: 'input.invalid', message } })}\n`
    : `error: input.invalid: ${message}\n`;
}
