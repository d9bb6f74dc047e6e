import type { Logger } from 'pino';

const noop = (): void => undefined;

/**
 * The logger of a one-shot command whose log level is `silent` (the default outside `pkim serve`): it drops every
 * line, as pino does at that level, without loading pino (start-up time, docs/benchmarks.md). Any other level gets
 * pino (lazy/logging-runtime.ts).
 */
export function silentLogger(): Logger {
  const logger = {
    level: 'silent',
    fatal: noop,
    error: noop,
    warn: noop,
    info: noop,
    debug: noop,
    trace: noop,
    silent: noop,
    flush: noop,
    isLevelEnabled: () => false,
    bindings: () => ({}),
    child: () => logger,
  };
  return logger as unknown as Logger;
}
