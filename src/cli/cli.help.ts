import { readFileSync } from 'node:fs';
import { CONFIG_VARIABLES } from '../config.ts';
import type { Command, FlagSpec } from './command.ts';
import { COMMANDS } from './commands/index.ts';

/** Flags every command takes. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', description: 'print exactly one JSON line (the summary) on stdout' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** The package version, read once from package.json (the one place it is written). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

export function commandHelp(command: Command): string {
  const flags = Object.entries({ ...command.flags, ...COMMON_FLAGS })
    .map(([n, f]) => `  --${n}${f.type === 'string' ? ' <value>' : ''}`.padEnd(28) + f.description)
    .join('\n');
  return `rr-sync ${command.usage ?? command.name}\n\n${command.summary}\n\nFlags:\n${flags}\n`;
}

export function mainHelp(): string {
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n');
  return (
    `rr-sync <command> [flags]\n\nCommands:\n${list}\n\n` +
    `Global flags: --json (one JSON line on stdout), --help, --version\n\n` +
    `Environment (see README "Configuration"; a .env file in the current directory is read too):\n  ${CONFIG_VARIABLES.join('\n  ')}\n\n` +
    `Exit codes: 0 ok, 1 unexpected failure, 2 bad configuration or arguments, 3 publish gate refused, 4 database or upstream unreachable.\n` +
    `Run 'rr-sync <command> --help' for a command's flags.\n`
  );
}
