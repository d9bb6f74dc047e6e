import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

type LogArgs = [unknown, ...unknown[]];

/**
 * A request's logger (`request.log`), made when the request first writes a line at an enabled level. Fastify makes a
 * pino child per request by default, even when nothing is logged for it: the child's bindings (the request id) are
 * serialised through the redaction on creation, ≈ 1–2 % of the main thread of a signing request at `warn`, where an
 * answered request writes nothing. The lines are the child's own (same bindings, same serialisers); the level is the
 * parent's at the time of each call.
 */
class LazyRequestLogger {
  #child: Logger | undefined;
  readonly #parent: Logger;
  readonly #bindings: Bindings;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #logger(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings));
  }

  #write(level: Level, args: LogArgs): void {
    if (this.#child ? !this.#child.isLevelEnabled(level) : !this.#parent.isLevelEnabled(level)) return;
    const logger = this.#logger();
    logger[level](...(args as Parameters<Logger['info']>));
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }
  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {
    // nothing, as pino's
  }
  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory`: the lazy request logger above, or pino's child at once when the route asks for
 * its own level or serialisers.
 */
export function requestLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const parent = logger as unknown as Logger;
  if (Object.keys(options).length > 0 || typeof parent.isLevelEnabled !== 'function') {
    return logger.child(bindings, options);
  }
  return new LazyRequestLogger(parent, bindings);
}
