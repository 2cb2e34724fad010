import { spawn, type ChildProcess } from 'node:child_process';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

/** Who PostgreSQL's processes run as: the `postgres` system user when we are root, else ourselves. */
export type RunAs = { uid: number; gid: number } | undefined;

export type EmbeddedFailure =
  | 'no_user'
  | 'not_executable'
  | 'unreachable'
  | 'init_failed'
  | 'locked'
  | 'port_in_use'
  | 'password_unknown'
  | 'exited'
  | 'timeout'
  | 'failed';

/** `db.embedded_failed` (exit 4): the message says what failed, where, and what to do. */
export function embeddedFailure(
  reason: EmbeddedFailure,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): AppError {
  return new AppError('db.embedded_failed', message, { cause, details: { reason, ...details } });
}

/**
 * The environment PostgreSQL's processes get: only what they need. Passing ours would hand
 * DATABASE_URL, RR_API_KEY and the like to a process of another user (readable in /proc).
 * LC_ALL=C keeps the server's messages in English, which the start-up checks below read.
 */
export function serverEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LC_ALL: 'C',
    ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/**
 * Run a short-lived program (initdb, `postgres --version`, `test`) to its end. A program that
 * cannot be started rejects with the spawn error (its `code`: EACCES, ENOENT…): never an
 * unhandled 'error' event.
 */
export function runProgram(file: string, args: string[], runAs: RunAs): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn(file, args, { ...runAs, env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.on('error', reject);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** The last few lines of a program's output: enough to say why it failed, never a wall of text. */
export function tail(output: string, lines = 4): string {
  return output.trim().split('\n').slice(-lines).join(' | ');
}

/** Why the server exited during start-up, read from its log (LC_ALL=C keeps it in English). */
export function classifyStartFailure(log: string): { reason: EmbeddedFailure; pid?: number } {
  const locked = /lock file "postmaster\.pid" already exists[\s\S]*?\(PID (\d+)\)/.exec(log);
  if (locked) return { reason: 'locked', pid: Number(locked[1]) };
  if (/could not bind|Address already in use|could not create any TCP\/IP sockets/.test(log)) {
    return { reason: 'port_in_use' };
  }
  return { reason: 'exited' };
}

export interface ServerProcess {
  /** Fast shutdown (SIGINT); resolves once the server has exited. */
  stop(): Promise<void>;
}

const READY = 'database system is ready to accept connections';

/**
 * Spawn `postgres` and wait until it accepts connections. The server gets a session of its own
 * (detached): a Ctrl-C in the terminal goes to rr-sync, which finishes its work and then stops
 * the server, instead of the server dying under a running job. If this process exits without
 * stopping it, the exit hook still does.
 */
export function startServerProcess(options: {
  postgres: string;
  dataDir: string;
  port: number;
  runAs: RunAs;
  logger: Logger;
  readyTimeoutMs?: number;
}): Promise<ServerProcess> {
  const { logger } = options;
  const args = [
    '-D',
    options.dataDir,
    '-p',
    String(options.port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'fsync=off',
  ];
  return new Promise((resolve, reject) => {
    let log = '';
    let ready = false;
    const child: ChildProcess = spawn(options.postgres, args, {
      ...options.runAs,
      env: serverEnv(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const onExit = () => child.kill('SIGINT');
    process.once('exit', onExit);
    const stop = async () => {
      process.off('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    };
    const timer = setTimeout(() => {
      fail(
        embeddedFailure(
          'timeout',
          `The embedded PostgreSQL in ${options.dataDir} did not get ready within ${Math.round((options.readyTimeoutMs ?? 120_000) / 1000)} s: ${tail(log)}`,
          { dataDir: options.dataDir, port: options.port },
        ),
      );
      void stop();
    }, options.readyTimeoutMs ?? 120_000);
    const fail = (err: AppError) => {
      clearTimeout(timer);
      process.off('exit', onExit);
      if (!ready) reject(err);
    };
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      for (const line of text.split('\n')) if (line.trim()) logger.debug({ embeddedPostgres: line.trim() });
      if (ready) return;
      log += text;
      if (log.includes(READY)) {
        ready = true;
        clearTimeout(timer);
        log = '';
        resolve({ stop });
      }
    };
    child.stdout?.on('data', onOutput);
    child.stderr?.on('data', onOutput);
    child.on('error', (err: NodeJS.ErrnoException) => {
      fail(
        embeddedFailure(
          'not_executable',
          `Cannot run the embedded PostgreSQL server ${options.postgres}: ${err.code ?? err.message}. Reinstall the dependencies (npm ci), or set DATABASE_URL to a PostgreSQL of your own.`,
          { binary: options.postgres },
          err,
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (ready) {
        if (code !== 0) logger.warn({ code, signal }, 'the embedded PostgreSQL server stopped');
        return;
      }
      const { reason, pid } = classifyStartFailure(log);
      const where = { dataDir: options.dataDir, port: options.port, ...(pid ? { pid } : {}) };
      if (reason === 'locked') {
        fail(
          embeddedFailure(
            reason,
            `The embedded PostgreSQL data directory ${options.dataDir} is in use by another server (PID ${pid}): another rr-sync with the same EMBEDDED_PG_DIR is running. Stop it first, or give this copy its own EMBEDDED_PG_DIR.`,
            where,
          ),
        );
      } else if (reason === 'port_in_use') {
        fail(
          embeddedFailure(
            reason,
            `The embedded PostgreSQL could not listen on 127.0.0.1:${options.port}: the port is in use.`,
            where,
          ),
        );
      } else {
        fail(
          embeddedFailure(
            reason,
            `The embedded PostgreSQL in ${options.dataDir} exited at start-up (code ${code ?? signal}): ${tail(log)}`,
            where,
          ),
        );
      }
    });
  });
}
