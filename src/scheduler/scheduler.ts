import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { insertSkippedRun, lastSuccessfulFeedAt } from '../runs/runs.repository.ts';
import { AppError, coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { RunTrigger } from '../sync/sync.contracts.ts';
import { feedIsStale, previousFireTime, tickOf } from './scheduler.cron.ts';
import { claimTick, feedLocksHeld, pruneTicks, setTickRun } from './scheduler.ticks.ts';

export type JobName = 'feed' | 'sync';

/** What a job reports back; the job records its own run (rr_sync.runs) and returns its id. */
export interface JobOutcome {
  status: string;
  exitCode: number;
  runId: number | null;
}

/** A scheduled job. `signal` aborts when the service stops and the grace period is over. */
export type JobFn = (trigger: RunTrigger, signal: AbortSignal) => Promise<JobOutcome>;

export type TickResult =
  | ({ outcome: 'ran'; job: JobName; trigger: RunTrigger; tick?: Date } & JobOutcome)
  | { outcome: 'skipped'; job: JobName; trigger: RunTrigger; tick?: Date; reason: string; runId: number }
  | { outcome: 'failed'; job: JobName; trigger: RunTrigger; tick?: Date; error: string }
  | { outcome: 'stopped'; job: JobName; trigger: RunTrigger; tick?: Date };

export interface SchedulerDeps {
  /** The jobs to schedule. A job left out is not scheduled (its cron is not used). */
  jobs: Partial<Record<JobName, JobFn>>;
  state: pg.Pool;
  config: Pick<Config, 'feedCron' | 'syncCron' | 'timeZone'>;
  logger: Logger;
  /** Now, for the start-up catch-up decision (ticks come from node-cron's own slots). */
  clock?: () => Date;
  /** This process in job_ticks and skipped runs (default hostname:pid:random). */
  instance?: string;
  /** Called with every tick's and catch-up's result (after it is recorded and logged). */
  onResult?: (result: TickResult) => void;
}

export interface StopResult {
  /** An in-flight run outlived the grace period and was told to abort. */
  aborted: boolean;
  /** It did not end even after the abort: the process leaves it behind (the next run marks it failed). */
  abandoned: boolean;
}

export interface Scheduler {
  readonly instance: string;
  /** Schedule the crons, and run the feed now (in the background) when it is stale. */
  start(): Promise<void>;
  /** One tick of `job` for node-cron's slot `slot`: claim it, then run it or record why not. */
  runTick(job: JobName, slot: Date): Promise<TickResult>;
  /** The start-up check: run the feed job once when the last successful feed is older than a FEED_CRON period. */
  catchUp(): Promise<TickResult | null>;
  /** Stop scheduling; let in-flight work finish within `timeoutMs`, then abort it (and wait as long again). */
  stop(options?: { timeoutMs?: number }): Promise<StopResult>;
}

const DEFAULT_STOP_TIMEOUT_MS = 10_000;
/** A tick that fires late (busy event loop, paused VM) still runs within this; later, it is missed. */
const MISSED_TOLERANCE_MS = 60_000;

export function defaultInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { state, config, jobs } = deps;
  const logger = deps.logger.child({ component: 'scheduler' });
  const clock = deps.clock ?? (() => new Date());
  const instance = deps.instance ?? defaultInstanceId();
  const abort = new AbortController();
  const tasks: ScheduledTask[] = [];
  const pending = new Set<Promise<unknown>>();
  let stopping = false;
  /**
   * The run this instance has going. One slot for both jobs: they write the same feed, so a sync
   * tick waits for a feed run and the other way round.
   */
  let current: { job: JobName; since: Date } | null = null;

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  function report(result: TickResult): TickResult {
    const { outcome, job, trigger, tick } = result;
    const fields: Record<string, unknown> = { job, trigger, outcome, tick: tick?.toISOString() };
    if (result.outcome === 'ran') Object.assign(fields, { status: result.status, runId: result.runId });
    if (result.outcome === 'skipped') Object.assign(fields, { reason: result.reason, runId: result.runId });
    if (result.outcome === 'failed') Object.assign(fields, { error: result.error });
    const level = outcome === 'failed' ? 'error' : 'info';
    logger[level](fields, `${job} ${trigger === 'schedule' ? 'tick' : trigger}: ${outcome}`);
    deps.onResult?.(result);
    return result;
  }

  async function skip(job: JobName, trigger: RunTrigger, reason: string, tick?: Date, claimedBy?: string) {
    const runId = await insertSkippedRun(state, { kind: job, trigger, reason, instance, tick, claimedBy });
    if (tick && !claimedBy) await setTickRun(state, job, tick, runId);
    return { outcome: 'skipped' as const, job, trigger, tick, reason, runId };
  }

  /** Run `job` unless a feed or sync run is still going here or anywhere; record a skip otherwise. */
  async function runJob(job: JobName, trigger: RunTrigger, tick?: Date): Promise<TickResult> {
    const fn = jobs[job];
    if (!fn) throw new Error(`no ${job} job`);
    if (stopping) return skip(job, trigger, 'this instance was stopping', tick);
    if (current) {
      const why = `the ${current.job} run this instance started at ${current.since.toISOString()} is still going`;
      return skip(job, trigger, why, tick);
    }
    // Reserved before the first await: a feed and a sync tick of the same second must not both pass.
    current = { job, since: clock() };
    try {
      if (await feedLocksHeld(state)) {
        return await skip(
          job,
          trigger,
          'another feed or sync run holds the lock (another process or instance)',
          tick,
        );
      }
      let outcome: JobOutcome;
      try {
        outcome = await fn(trigger, abort.signal);
      } catch (err) {
        if (err instanceof AppError && err.code === 'job.already_running') {
          return await skip(job, trigger, err.message, tick);
        }
        return { outcome: 'failed', job, trigger, tick, error: coerceError(err).message };
      }
      if (tick && outcome.runId !== null) await setTickRun(state, job, tick, outcome.runId);
      return { outcome: 'ran', job, trigger, tick, ...outcome };
    } finally {
      current = null;
    }
  }

  /** Every path ends in a logged result: a cron callback must never reject (nobody would catch it). */
  async function settle(
    job: JobName,
    trigger: RunTrigger,
    tick: Date | undefined,
    work: () => Promise<TickResult>,
  ) {
    try {
      return report(await work());
    } catch (err) {
      return report({ outcome: 'failed', job, trigger, tick, error: coerceError(err).message });
    }
  }

  const scheduler: Scheduler = {
    instance,

    runTick(job, slot) {
      const tick = tickOf(slot);
      return track(
        settle(job, 'schedule', tick, async () => {
          // Once stopping, claim nothing: another instance may still take the tick.
          if (stopping) return { outcome: 'stopped', job, trigger: 'schedule', tick };
          const claim = await claimTick(state, job, tick, instance);
          if (!claim.claimed) {
            return skip(job, 'schedule', `instance ${claim.by} claimed this tick`, tick, claim.by);
          }
          return runJob(job, 'schedule', tick);
        }),
      );
    },

    async catchUp() {
      if (!jobs.feed || stopping) return null;
      const now = clock();
      const previous = previousFireTime(config.feedCron, config.timeZone, now);
      const last = await lastSuccessfulFeedAt(state);
      const context = {
        lastSuccess: last?.toISOString() ?? null,
        previousFire: previous?.toISOString() ?? null,
      };
      if (!feedIsStale(last, previous)) {
        logger.info(context, 'the feed is current: no start-up run');
        return null;
      }
      logger.info(context, 'the feed is older than one FEED_CRON period: running the feed job now');
      return track(settle('feed', 'startup', undefined, () => runJob('feed', 'startup')));
    },

    async start() {
      await pruneTicks(state).catch((err) =>
        logger.warn({ err: coerceError(err).message }, 'could not prune old scheduler ticks'),
      );
      const cronLogger = {
        info: (m: string) => logger.debug({}, m),
        warn: (m: string) => logger.warn({}, m),
        error: (m: string | Error) => logger.error({ err: String(m) }, 'node-cron'),
        debug: (m: string | Error) => logger.debug({ msg: String(m) }, 'node-cron'),
      };
      const crons: Record<JobName, string> = { feed: config.feedCron, sync: config.syncCron };
      for (const job of ['feed', 'sync'] as const) {
        if (!jobs[job]) continue;
        // The callback returns at once: overlap is this scheduler's decision (recorded), not node-cron's.
        const task = cron.createTask(crons[job], (ctx) => void scheduler.runTick(job, ctx.date), {
          name: `rr-sync ${job}`,
          timezone: config.timeZone,
          missedExecutionTolerance: MISSED_TOLERANCE_MS,
          logger: cronLogger,
        });
        task.on('execution:missed', (ctx) =>
          logger.warn(
            { job, slot: ctx.date.toISOString() },
            'tick missed: the process was paused or too busy',
          ),
        );
        await task.start();
        tasks.push(task);
        logger.info(
          { job, cron: crons[job], timeZone: config.timeZone ?? 'process local', instance },
          'scheduled',
        );
      }
      void track(scheduler.catchUp()).catch((err) =>
        logger.error({ err: coerceError(err).message }, 'start-up feed check failed'),
      );
    },

    async stop(options = {}) {
      const timeoutMs = options.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      stopping = true;
      for (const task of tasks.splice(0)) await task.destroy();
      const settled = async (ms: number) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
        try {
          // Work tracked while waiting (a catch-up started by start()) is waited for too.
          while (pending.size > 0) {
            const done = await Promise.race([Promise.allSettled([...pending]).then(() => true), timeout]);
            if (!done) return false;
          }
          return true;
        } finally {
          clearTimeout(timer);
        }
      };
      if (pending.size > 0) logger.info({ job: current?.job, timeoutMs }, 'waiting for the in-flight run');
      if (await settled(timeoutMs)) return { aborted: false, abandoned: false };
      logger.warn({ job: current?.job, timeoutMs }, 'the in-flight run did not finish in time: aborting it');
      abort.abort();
      if (await settled(timeoutMs)) return { aborted: true, abandoned: false };
      logger.error(
        { job: current?.job },
        'the in-flight run did not stop after the abort: leaving it behind',
      );
      return { aborted: true, abandoned: true };
    },
  };
  return scheduler;
}
