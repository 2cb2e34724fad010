import type pg from 'pg';
import type { Config } from '../config.ts';
import { acquireJobLock } from '../db/locks.ts';
import { readCurrentFeed, readKeptVersions } from '../feed/feed.layout.ts';
import { activateVersion, VERSION_NAME } from '../feed/feed.publisher.ts';
import { runCatalogJob } from '../pipeline/catalog.job.ts';
import { finishRun, insertRun } from '../runs/runs.history.ts';
import { feedLocksHeld } from '../scheduler/scheduler.ticks.ts';
import { AppError, coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { requeueDeadLetters, type RequeueResult } from '../sync/dead-letters.repository.ts';
import { runSyncJob } from '../sync/sync.job.ts';
import { findRunningRun, type RunListItem } from './ops.repository.ts';

/**
 * The operator's actions (status page forms and /admin routes alike): run a feed or a sync now,
 * requeue dead letters, serve another kept feed version. Each is recorded in rr_sync.runs with
 * trigger 'admin' and who asked. Failures are values: the routes turn them into answers.
 */

export interface OpsDatabases {
  catalog: pg.Pool;
  state: pg.Pool;
}

export type ActionResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; code: string; message: string; running?: RunListItem | null };

export interface AdminActions {
  runNow(kind: 'feed' | 'sync', actor: string): Promise<ActionResult<{ runId: number; kind: string }>>;
  requeue(actor: string, ids?: readonly string[]): Promise<ActionResult<RequeueResult & { runId: number }>>;
  activate(
    version: string,
    actor: string,
  ): Promise<ActionResult<{ runId: number | null; from: string | null; to: string; offers: number }>>;
  /** Abort admin runs still going and wait for them (the service is stopping). */
  close(timeoutMs?: number): Promise<void>;
}

export interface AdminActionsDeps {
  config: Config;
  logger: Logger;
  databases: () => OpsDatabases | null;
}

const NO_DATABASE: ActionResult<never> = {
  ok: false,
  status: 503,
  code: 'ops.no_database',
  message:
    'This process has no state database (rr-sync serve serves FEEDS_DIR only): act through rr-sync run.',
};

async function busy(state: pg.Pool): Promise<ActionResult<never>> {
  const running = await findRunningRun(state).catch(() => null);
  return {
    ok: false,
    status: 409,
    code: 'job.already_running',
    message: running
      ? `Run ${running.id} (${running.kind}, started ${running.startedAt}) holds the job lock; try again when it has finished.`
      : 'Another feed or sync run holds the job lock (another process or instance); try again when it has finished.',
    running,
  };
}

const isLockHeld = (err: unknown) => err instanceof AppError && err.code === 'job.already_running';

export function createAdminActions(deps: AdminActionsDeps): AdminActions {
  const logger = deps.logger.child({ component: 'admin' });
  const stop = new AbortController();
  const jobs = new Set<Promise<unknown>>();

  return {
    async runNow(kind, actor) {
      const dbs = deps.databases();
      if (!dbs) return NO_DATABASE;
      if (await feedLocksHeld(dbs.state)) return busy(dbs.state);
      let started!: (runId: number) => void;
      const recorded = new Promise<number>((resolve) => (started = resolve));
      const jobDeps = { ...dbs, config: deps.config, logger };
      const options = { trigger: 'admin' as const, actor, onStart: started, signal: stop.signal };
      const job =
        kind === 'feed'
          ? runCatalogJob<never>(jobDeps, { kind: 'feed', feed: true, ...options })
          : runSyncJob(jobDeps, options);
      const tracked = job.then(
        (s) => logger.info({ kind, actor, runId: s.runId, status: s.status }, 'admin run finished'),
        (err: unknown) => {
          if (!isLockHeld(err))
            logger.error({ kind, actor, err: coerceError(err).message }, 'admin run failed');
        },
      );
      jobs.add(tracked);
      void tracked.finally(() => jobs.delete(tracked));
      const first = await Promise.race([
        recorded.then((runId) => ({ runId })),
        job.then(
          (s) => ({ runId: s.runId }),
          (err: unknown) => ({ err }),
        ),
      ]);
      if ('err' in first) {
        // Another run took the lock between our look and our start.
        if (isLockHeld(first.err)) return busy(dbs.state);
        return { ok: false, status: 500, code: 'run.failed', message: coerceError(first.err).message };
      }
      logger.info({ kind, actor, runId: first.runId }, 'admin run started');
      return { ok: true, value: { runId: first.runId ?? 0, kind } };
    },

    async requeue(actor, ids) {
      const dbs = deps.databases();
      if (!dbs) return NO_DATABASE;
      const runId = await insertRun(dbs.state, 'requeue', 'admin', actor);
      try {
        const result = await requeueDeadLetters(dbs.state, ids);
        await finishRun(dbs.state, runId, {
          status: 'requeued',
          exitCode: 0,
          summary: { ...result, ids: ids ?? 'all' },
          report: null,
        });
        logger.info({ actor, runId, ...result }, 'dead letters requeued');
        return { ok: true, value: { ...result, runId } };
      } catch (err) {
        const e = coerceError(err);
        await finishRun(dbs.state, runId, {
          status: 'failed',
          exitCode: 1,
          summary: null,
          report: null,
          error: e.message,
        }).catch(() => undefined);
        throw e;
      }
    },

    async activate(version, actor) {
      const dbs = deps.databases();
      if (!dbs) return NO_DATABASE;
      const feedsDir = deps.config.feedsDir;
      const unknown = {
        ok: false as const,
        status: 404,
        code: 'feed.version_unknown',
        message: `No kept feed version ${JSON.stringify(version.slice(0, 80))}: see the kept versions on the status page or GET /admin/feed/versions.`,
      };
      if (!VERSION_NAME.test(version)) return unknown;
      let lock;
      try {
        lock = await acquireJobLock(dbs.state, 'feed');
      } catch (err) {
        if (isLockHeld(err)) return busy(dbs.state);
        throw err;
      }
      try {
        const kept = (await readKeptVersions(feedsDir)).find((m) => m.version === version);
        if (!kept) return unknown;
        const from = (await readCurrentFeed(feedsDir))?.manifest.version ?? null;
        if (from === version)
          return { ok: true, value: { runId: null, from, to: version, offers: kept.offers } };
        const runId = await insertRun(dbs.state, 'rollback', 'admin', actor);
        try {
          lock.signal.throwIfAborted();
          const manifest = await activateVersion(feedsDir, version);
          if (!manifest) throw new Error(`version ${version} vanished while switching to it`);
          const summary = {
            from,
            to: version,
            version,
            offers: manifest.offers,
            reason: `served feed switched from ${from ?? 'none'} to ${version}`,
          };
          await finishRun(dbs.state, runId, { status: 'activated', exitCode: 0, summary, report: null });
          logger.warn({ actor, runId, from, to: version }, 'served feed switched to another kept version');
          return { ok: true, value: { runId, from, to: version, offers: manifest.offers } };
        } catch (err) {
          const e = coerceError(err);
          await finishRun(dbs.state, runId, {
            status: 'failed',
            exitCode: 1,
            summary: { from, to: version },
            report: null,
            error: e.message,
          }).catch(() => undefined);
          throw e;
        }
      } finally {
        await lock.release();
      }
    },

    async close(timeoutMs = 10_000) {
      if (jobs.size === 0) return;
      const all = Promise.allSettled([...jobs]);
      const timer = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());
      await Promise.race([all, timer(timeoutMs)]);
      stop.abort();
      await Promise.race([all, timer(timeoutMs)]);
    },
  };
}
