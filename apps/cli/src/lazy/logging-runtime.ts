// The CLI's and the server's logger (pino, redacting secrets), loaded on first use like authority-runtime.ts.
// Logs go to stderr: human-readable lines on a terminal (pino-pretty), JSON lines otherwise (files, journald,
// containers) — PKIM_LOG_FORMAT=json|pretty forces one.
import { pino, type Logger, type LoggerOptions } from 'pino';
import { LOG_REDACT_PATHS } from '@pkim/authority';
import { FAILURE_LOG_MESSAGE } from '@pkim/shared';
import type { LogFormat } from '../config/cli-config';
import { processIo, type CliIo } from '../cli-io';
import type { FailureRecord } from '../cli-context';

/** true when log lines are rendered for a human (pretty), false for JSON lines */
export function logsArePretty(format: LogFormat, isTty: boolean): boolean {
  return format === 'pretty' || (format === 'auto' && isTty);
}

/**
 * A logger to stderr (fd 1: stdout) at `level`. `io`: a run's streams other than the process's (a test's in-process
 * run, tests/support/cli-in-process.ts) get the lines through their writers; the process's, pino's own sync writes.
 * `omitCodes`: records whose `code` is one of these are not written (what the command prints itself as `warning: …`).
 * `holdFailure`: gets the authority's failure records (FAILURE_LOG_MESSAGE) and the write of each, to make later or
 * never (the one the command's `error: …` line says again: CliContext.releaseFailures).
 */
export async function createCliLogger(
  level: string,
  format: LogFormat,
  io: CliIo = processIo(),
  fd: 1 | 2 = 2,
  omitCodes: readonly string[] = [],
  holdFailure?: (record: FailureRecord, write: () => void) => void,
): Promise<Logger> {
  const omitted = (first: unknown) =>
    typeof first === 'object' && first !== null && omitCodes.includes((first as { code?: unknown }).code as string);
  const options: LoggerOptions = {
    level,
    redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
    ...(omitCodes.length || holdFailure
      ? {
          hooks: {
            logMethod(args, method) {
              if (omitted(args[0])) return;
              const [first, message] = args as unknown[];
              if (holdFailure && message === FAILURE_LOG_MESSAGE && typeof first === 'object' && first !== null)
                holdFailure(first, () => method.apply(this, args));
              else method.apply(this, args);
            },
          },
        }
      : {}),
  };
  const stream = fd === 2 ? io.stderr : io.stdout;
  const tty = !!stream.isTTY;
  if (stream !== process.stdout && stream !== process.stderr) {
    return pino(
      options,
      logsArePretty(format, tty) ? (await import('pino-pretty')).default({ destination: stream }) : stream,
    );
  }
  if (logsArePretty(format, tty)) {
    const { default: pretty } = await import('pino-pretty');
    return pino(
      options,
      pretty({ destination: fd, sync: true, colorize: tty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }),
    );
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}
