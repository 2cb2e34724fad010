import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig, type ConfigSources } from '../config.ts';
import { AppError, coerceError, EXIT } from '../shared/errors.ts';
import { asFeedWriteFailure } from '../feed/feed.writer.ts';
import { createLogger } from '../shared/logger.ts';
import { parseFlags } from './cli.args.ts';
import { COMMON_FLAGS, commandHelp, mainHelp, packageVersion } from './cli.help.ts';
import { createCliOutput, internalError } from './cli.output.ts';
import { COMMANDS, type CommandEntry } from './commands/index.ts';

export interface MainOptions {
  /** Read this .env file into `env` (default: ./.env, only when `env` is process.env). */
  envFile?: string;
  /** Replaces the command table (tests inject a failing command). */
  commands?: CommandEntry[];
  /** Stops long-running commands like Ctrl-C does (tests). */
  signal?: AbortSignal;
}

/** Variables from a .env file that the environment does not already set (as process.loadEnvFile does). */
function readEnvFile(file: string, env: NodeJS.ProcessEnv): ConfigSources['envFile'] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined; // no .env file: fine
  }
  const keys = new Set<string>();
  for (const [k, v] of Object.entries(parseEnv(text))) {
    if (env[k] !== undefined) continue;
    env[k] = v;
    keys.add(k);
  }
  return { path: path.resolve(file), keys };
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  options: MainOptions = {},
): Promise<number> {
  const envFile = options.envFile ?? (env === process.env ? '.env' : undefined);
  const sources: ConfigSources = { envFile: envFile ? readEnvFile(envFile, env) : undefined };
  // Global flags may come before the command: `rr-sync --json feed`, `rr-sync --version`.
  const globals = new Set<string>();
  let i = 0;
  for (; i < argv.length && /^(--json|--help|-h|--version|-v)$/.test(argv[i]!); i++) globals.add(argv[i]!);
  const [name, ...rest] = argv.slice(i);
  const json = globals.has('--json') || rest.includes('--json');
  const out = createCliOutput(json);
  if (!name && (globals.has('--version') || globals.has('-v'))) {
    const version = packageVersion();
    out.line(json ? JSON.stringify({ ok: true, version }) : `rr-sync ${version}`);
    return EXIT.ok;
  }
  const commands = options.commands ?? COMMANDS;
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const asked = globals.has('--help') || globals.has('-h') || name === 'help';
    if (asked && !json) {
      out.line(mainHelp());
      return EXIT.ok;
    }
    process.stderr.write(mainHelp());
    if (asked) {
      out.line(JSON.stringify({ ok: true, commands: commands.map((c) => c.name) }));
      return EXIT.ok;
    }
    const what = name ? `unknown command '${name}'` : 'no command given';
    out.fail(
      'rr-sync',
      new AppError('usage.invalid', `${what}; commands: ${commands.map((c) => c.name).join(', ')}`),
    );
    return EXIT.badConfig;
  }
  let logger = createLogger();
  let feedsDir: string | undefined;
  const controller = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals += 1;
    // First signal: stop gracefully; second: the user means it.
    if (signals > 1) process.exit(130);
    controller.abort();
  };
  const external = () => controller.abort();
  options.signal?.addEventListener('abort', external, { once: true });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const command = await entry.load();
    const specs = { ...command.flags, ...COMMON_FLAGS };
    const parsed = parseFlags(name!, rest, specs);
    if (parsed.values.help || globals.has('--help') || globals.has('-h')) {
      out.line(
        json ? JSON.stringify({ ok: true, command: name, flags: Object.keys(specs) }) : commandHelp(command),
      );
      return EXIT.ok;
    }
    const config = loadConfig(env, sources);
    feedsDir = config.feedsDir;
    logger = createLogger({ level: config.logLevel });
    const code = await command.run({
      flags: parsed.values,
      positionals: parsed.positionals,
      config,
      logger,
      env,
      json,
      out: (line) => out.line(line),
      signal: controller.signal,
    });
    out.finish(code);
    return code;
  } catch (err) {
    // TODO(lead, 2026-12-01): map this in the feed job itself once it is restructured.
    const e = coerceError(feedsDir ? asFeedWriteFailure(err, feedsDir) : err);
    if (e instanceof AppError) {
      out.fail(`rr-sync ${name}`, e);
      return e.exitCode;
    }
    logger.error({ err: { message: e.message, stack: e.stack } }, 'unexpected failure');
    out.fail(`rr-sync ${name}`, internalError(e));
    return EXIT.failure;
  } finally {
    options.signal?.removeEventListener('abort', external);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
