import type { Config } from '../config.ts';
import type { Logger } from '../shared/logger.ts';

export interface FlagSpec {
  type: 'boolean' | 'string';
  description: string;
  multiple?: boolean;
  /** One-letter alias, e.g. `h` for `-h`. */
  short?: string;
}

export interface CommandContext {
  /** Parsed flags (unknown flags were already rejected with exit 2). */
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  config: Config;
  logger: Logger;
  /** The environment the config was parsed from (for command-specific variables such as EMULATOR_*). */
  env: NodeJS.ProcessEnv;
  /**
   * Print a line for the user. Without --json it goes to stdout. With --json, stdout carries
   * exactly one line: the first JSON object printed here (the command's summary); every other line
   * goes to stderr, and if the command prints no JSON object the CLI prints `{"ok", "exitCode"}`.
   * A long-running command prints its JSON line once it is ready.
   */
  out: (line: string) => void;
  json: boolean;
  /** Resolves when the user pressed Ctrl-C / SIGTERM arrived (for long-running commands). */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage?: string;
  flags: Record<string, FlagSpec>;
  /** Returns the exit code. Throw AppError for the documented failures. */
  run(ctx: CommandContext): Promise<number>;
}
