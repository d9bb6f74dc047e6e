import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { PkiError, toPkiError, type ErrorKind } from '@pkim/shared';
import type { Actor, Authority } from '@pkim/authority';

export interface GlobalOptions {
  dataDir: string;
  databaseUrl?: string;
  json: boolean;
}

export interface CliContext {
  /** global flags (--data-dir, --database-url, --json), resolved with PKIM_* env fallbacks */
  options(): GlobalOptions;
  /** opens the authority on the data dir once; closed when the command ends */
  openAuthority(): Promise<Authority>;
  /** the local operator: the CLI runs with admin rights on its data directory */
  actor: Actor;
  /** the API contract's wire mappers (loaded on first use): `--json` prints what REST and tRPC answer */
  contract(): Promise<typeof import('./lazy/contract-runtime')>;
  /** prints operator warnings on stderr (`warning: …`), whatever the output format */
  warn(warnings: string[] | undefined): void;
  /** prints `data` as JSON with --json, otherwise the human rendering */
  output(data: unknown, human: () => string): void;
  close(): Promise<void>;
}

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

export function createCliContext(program: Command): CliContext {
  let authority: Promise<Authority> | undefined;
  const options = (): GlobalOptions => {
    const o = program.opts<{ dataDir?: string; databaseUrl?: string; json?: boolean }>();
    return {
      dataDir: resolve(o.dataDir ?? process.env.PKIM_DATA_DIR ?? './data'),
      databaseUrl: o.databaseUrl ?? process.env.PKIM_DATABASE_URL ?? undefined,
      json: !!o.json,
    };
  };
  let who = 'unknown';
  try {
    who = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return {
    options,
    actor: { id: `cli:${who}`, name: who, role: 'admin' },
    openAuthority() {
      if (!authority) {
        const o = options();
        // loaded on first use (a separate chunk of the compiled CLI, see lazy/authority-runtime.ts)
        authority = import('./lazy/authority-runtime').then(({ createAuthority, LOG_REDACT_PATHS, pino }) => {
          const logger = pino(
            {
              level: process.env.PKIM_LOG_LEVEL ?? 'silent',
              redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
            },
            pino.destination(2),
          );
          return createAuthority({
            dataDir: o.dataDir,
            databaseUrl: o.databaseUrl,
            logger,
            publicBaseUrl: process.env.PKIM_PUBLIC_URL || undefined,
          });
        });
      }
      return authority;
    },
    contract: () => import('./lazy/contract-runtime'),
    warn(warnings) {
      for (const w of warnings ?? []) process.stderr.write(`warning: ${w}\n`);
    },
    output(data, human) {
      if (options().json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
      else {
        const text = human();
        if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    async close() {
      if (authority) {
        const a = await authority.catch(() => undefined);
        authority = undefined;
        await a?.close();
      }
    },
  };
}

/**
 * Prints the error on stderr — one line `error: <code>: <message>`, or with --json the contract's
 * `{ "error": { code, message, details? } }` — and returns the exit code.
 */
export function reportError(error: unknown, json: boolean): number {
  const e = error instanceof PkiError ? error : toPkiError(error);
  if (json) {
    const details = Object.keys(e.details).length ? { details: e.details } : {};
    process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, ...details } })}\n`);
  } else process.stderr.write(`error: ${e.code}: ${e.message.split('\n')[0]}\n`);
  return EXIT_CODES[e.kind] ?? 1;
}
