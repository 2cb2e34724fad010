import { vi } from 'vitest';
import { main, type MainOptions } from '../../src/cli/index.ts';

export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout holds a complete line (or the command ended: then with its exit code). */
  firstLine(): Promise<string | number>;
  /** Ctrl-C, then the exit code. */
  stop(): Promise<number>;
  done: Promise<number>;
}

/**
 * Run `main` in this process with stdout/stderr captured, for commands that keep running (serve,
 * start, emulator). One at a time: the capture replaces process.stdout.write for its duration.
 */
export function startCli(argv: string[], env: Record<string, string>, options: MainOptions = {}): RunningCli {
  const out: string[] = [];
  const err: string[] = [];
  const waiters: (() => void)[] = [];
  const capture =
    (into: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      (rest.find((r) => typeof r === 'function') as (() => void) | undefined)?.();
      for (const w of waiters.splice(0)) w();
      return true;
    };
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(capture(out) as typeof process.stdout.write);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(capture(err) as typeof process.stderr.write);
  const controller = new AbortController();
  let ended: number | undefined;
  const done = main(argv, env, { ...options, signal: controller.signal })
    .then((code) => (ended = code))
    .finally(() => {
      o.mockRestore();
      e.mockRestore();
    });
  const stdout = () => out.join('');
  return {
    stdout,
    stderr: () => err.join(''),
    async firstLine() {
      for (;;) {
        const text = stdout();
        if (text.includes('\n')) return text.slice(0, text.indexOf('\n'));
        if (ended !== undefined) return ended;
        await Promise.race([new Promise<void>((r) => waiters.push(r)), done]);
      }
    },
    async stop() {
      controller.abort();
      return done;
    },
    done,
  };
}

/** Exactly one line on stdout, and it parses as a JSON object: what `--json` promises. */
export function oneJsonLine(stdout: string): Record<string, unknown> {
  if (!stdout.endsWith('\n'))
    throw new Error(`stdout does not end with a newline: ${JSON.stringify(stdout)}`);
  const lines = stdout.slice(0, -1).split('\n');
  if (lines.length !== 1) throw new Error(`expected one line on stdout, got ${lines.length}: ${stdout}`);
  const value = JSON.parse(lines[0]!) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`not an object: ${lines[0]}`);
  return value as Record<string, unknown>;
}
