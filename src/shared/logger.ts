import { pino } from 'pino';
import { formatLogLine } from './logger.format.ts';

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

export interface LoggerOptions {
  level?: string;
  /** File descriptor for JSON lines (default 2, stderr). */
  destination?: number;
  /** Human-readable lines instead of JSON (default: when stderr is a terminal and no destination is given). */
  pretty?: boolean;
  /** Where lines go instead of the file descriptor (default stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.pretty ?? (options.destination === undefined && Boolean(stream.isTTY));
  // Logs go to stderr: stdout is reserved for `--json` summaries. On a terminal a person reads
  // them, so they are laid out as text; piped or collected, they stay one JSON object per line.
  // On a terminal the line starts by clearing the row, where a progress line may be half drawn.
  const destination = pretty
    ? { write: (line: string) => stream.write(`${stream.isTTY ? '\r\x1b[K' : ''}${formatLogLine(line)}`) }
    : options.stream
      ? { write: (line: string) => options.stream!.write(line) }
      : pino.destination({ fd: options.destination ?? 2, sync: true });
  return pino(
    { level: options.level ?? 'info', redact: { paths: REDACT, censor: '[redacted]' }, base: undefined },
    destination,
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
