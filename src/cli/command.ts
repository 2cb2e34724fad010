import type { Config } from '../config.ts';
import type { Logger } from '../shared/logger.ts';

export interface FlagSpec {
  type: 'boolean' | 'string';
  description: string;
  multiple?: boolean;
}

export interface CommandContext {
  /** Parsed flags (unknown flags were already rejected with exit 2). */
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  config: Config;
  logger: Logger;
  /** The environment the config was parsed from (for command-specific variables such as EMULATOR_*). */
  env: NodeJS.ProcessEnv;
  /** Write the machine-readable summary (only when --json is given, stdout otherwise stays human). */
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
