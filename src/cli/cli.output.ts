import { AppError } from '../shared/errors.ts';
import { redactUrlsIn } from '../shared/redact.ts';

/**
 * What the CLI prints. With --json, stdout carries exactly one line whatever happens (scripts
 * parse it): the first JSON object a command prints, else the error, else `{"ok","exitCode"}`.
 * Human lines go to stderr then, so they still reach a person watching.
 */
export interface CliOutput {
  /** For commands: see CommandContext.out. */
  line(text: string): void;
  /** A failure: message on stderr; in --json mode also the error object on stdout (if nothing was printed yet). */
  fail(prefix: string, error: AppError): void;
  /** Called once at the end: in --json mode prints a summary line if the command printed none. */
  finish(exitCode: number): void;
}

const isJsonObject = (text: string) => {
  if (!text.startsWith('{')) return false;
  try {
    return typeof JSON.parse(text) === 'object';
  } catch {
    return false;
  }
};

export function createCliOutput(
  json: boolean,
  stdout: (s: string) => void = (s) => process.stdout.write(s),
  stderr: (s: string) => void = (s) => process.stderr.write(s),
): CliOutput {
  let printed = false;
  const printJson = (value: unknown) => {
    printed = true;
    stdout(`${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
  };
  return {
    line(text) {
      if (!json) stdout(`${text}\n`);
      else if (!printed && isJsonObject(text)) printJson(text);
      else stderr(`${text}\n`);
    },
    fail(prefix, error) {
      stderr(`${prefix}: ${error.message}\n`);
      if (json && !printed) printJson({ ok: false, error: error.toJSON() });
    },
    finish(exitCode) {
      if (json && !printed) printJson({ ok: exitCode === 0, exitCode });
    },
  };
}

/**
 * Anything that is not an AppError is a bug or an unforeseen condition: the user gets code
 * `internal` (exit 1) and the message with any URL credentials removed; the stack goes to the log.
 */
export function internalError(err: Error): AppError {
  return new AppError('internal', `unexpected failure: ${redactUrlsIn(err.message)}`, { cause: err });
}
