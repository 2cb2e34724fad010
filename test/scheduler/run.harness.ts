import { until as waitUntil } from '../helpers/until.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

/** A database with a small demo store and a FEEDS_DIR of its own, for `rr-sync run` processes. */
export interface RunHarness {
  db: TestDatabase;
  feedsDir: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function createRunHarness(products = 200): Promise<RunHarness> {
  const db = await createTestDatabase();
  await seedDemo(db.pool, { schema: 'store', products }, silentLogger);
  const feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-run-test-'));
  return {
    db,
    feedsDir,
    // The sync fires once a year unless a test says otherwise: no tick lands mid-test by chance.
    env: {
      DATABASE_URL: db.url,
      FEEDS_DIR: feedsDir,
      PORT: '0',
      TZ: 'UTC',
      LOG_LEVEL: 'info',
      SYNC_CRON: '0 0 1 1 *',
    },
    async close() {
      await db.drop();
      await rm(feedsDir, { recursive: true, force: true });
    },
  };
}

export interface RunProcess {
  proc: ChildProcess;
  stderr(): string;
  /** Resolves when a stderr line matches (the service logs JSON lines to stderr). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** Start `rr-sync <args>` as a real child process (its own signals, its own event loop). */
export function startCli(args: string[], env: Record<string, string>): RunProcess {
  const proc = spawn(process.execPath, ['src/cli/rr-sync.js', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let err = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const line = err.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    check();
  });
  proc.stdout!.resume();
  const exited = once(proc, 'exit').then(([code, signal]) => {
    running.delete(proc);
    return (code as number | null) ?? (signal as string);
  });
  return {
    proc,
    stderr: () => err,
    exited,
    waitForLog(pattern, timeoutMs = 60_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; stderr:\n${err}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        check();
        void exited.then(() => {
          if (waiters.some((w) => w.pattern === pattern)) {
            clearTimeout(timer);
            reject(new Error(`the process ended before logging ${pattern}; stderr:\n${err}`));
          }
        });
      });
    },
  };
}

/** Kill whatever a failed test left running. */
export function killStragglers(): void {
  for (const p of running) p.kill('SIGKILL');
}

/** Resolves with the value once `fn` returns a truthy one (polled; the timeout is generous). */
export function until<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  return waitUntil(fn, { timeoutMs, everyMs: 100 });
}
