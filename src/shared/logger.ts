import { pino } from 'pino';

/** The tiny logger interface the code depends on; tests pass `silentLogger`. */
export interface Logger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Field names whose values never reach a log line, wherever they sit in the logged object. */
const REDACT = [
  'apiKey',
  'api_key',
  'password',
  'token',
  'authorization',
  '*.apiKey',
  '*.password',
  '*.token',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
];

export function createLogger(options: { level?: string; destination?: number } = {}): Logger {
  // Logs go to stderr: stdout is reserved for `--json` summaries.
  return pino(
    { level: options.level ?? 'info', redact: { paths: REDACT, censor: '[redacted]' }, base: undefined },
    pino.destination({ fd: options.destination ?? 2, sync: true }),
  ) as unknown as Logger;
}

const noop = () => undefined;
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};
