// The authority's default logger (pino, redacting secrets): a module of its own so that the authority does not load
// pino when its caller brings a logger (the CLI, the server).
import { pino, type Logger } from 'pino';
import { LOG_REDACT_PATHS } from './log-redact-paths';

export function createLogger(level = 'info'): Logger {
  return pino({ level, redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } });
}
