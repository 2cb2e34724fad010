import { parseArgs } from 'node:util';
import { CONFIG_VARIABLES, loadConfig } from '../config.ts';
import { AppError, coerceError, EXIT } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import type { Command, FlagSpec } from './command.ts';
import { COMMANDS } from './commands/index.ts';

const COMMON_FLAGS: Record<string, FlagSpec> = {
  json: { type: 'boolean', description: 'print a machine-readable summary on stdout' },
  help: { type: 'boolean', description: 'show help' },
};

function help(command?: Command): string {
  if (command) {
    const flags = Object.entries({ ...command.flags, ...COMMON_FLAGS })
      .map(([n, f]) => `  --${n}${f.type === 'string' ? ' <value>' : ''}`.padEnd(28) + f.description)
      .join('\n');
    return `rr-sync ${command.usage ?? command.name}\n\n${command.summary}\n\nFlags:\n${flags}\n`;
  }
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(12)}${c.summary}`).join('\n');
  return `rr-sync <command> [flags]\n\nCommands:\n${list}\n\nEnvironment (see README "Configuration"):\n  ${CONFIG_VARIABLES.join(
    '\n  ',
  )}\n\nExit codes: 0 ok, 1 unexpected failure, 2 bad configuration or arguments, 3 publish gate refused, 4 database or upstream unreachable.\nRun 'rr-sync <command> --help' for a command's flags.\n`;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (typeof process.loadEnvFile === 'function' && env === process.env) {
    try {
      process.loadEnvFile('.env');
    } catch {
      // no .env file: fine
    }
  }
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    process.stdout.write(help());
    return name ? EXIT.ok : EXIT.badConfig;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`rr-sync: unknown command '${name}'\n\n${help()}`);
    return EXIT.badConfig;
  }
  const command = await entry.load();
  const specs = { ...command.flags, ...COMMON_FLAGS };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(specs).map(([n, f]) => [n, { type: f.type, multiple: f.multiple ?? false }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`rr-sync ${name}: ${(err as Error).message}\n\n${help(command)}`);
    return EXIT.badConfig;
  }
  if (parsed.values.help) {
    process.stdout.write(help(command));
    return EXIT.ok;
  }
  let logger = createLogger();
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    // First signal: stop gracefully; second: the user means it.
    if (signals > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const json = Boolean(parsed.values.json);
  try {
    const config = loadConfig(env);
    logger = createLogger({ level: config.logLevel });
    return await command.run({
      flags: parsed.values as Record<string, string | boolean | string[] | undefined>,
      positionals: parsed.positionals,
      config,
      logger,
      env,
      json,
      out: (line) => process.stdout.write(`${line}\n`),
      signal: controller.signal,
    });
  } catch (err) {
    const e = coerceError(err);
    if (e instanceof AppError) {
      if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: e.toJSON() })}\n`);
      process.stderr.write(`rr-sync ${name}: ${e.message}\n`);
      return e.exitCode;
    }
    logger.error({ err: { message: e.message, stack: e.stack } }, 'unexpected failure');
    process.stderr.write(`rr-sync ${name}: unexpected failure: ${e.message}\n`);
    return EXIT.failure;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
