import type { Queryable } from '../db/pool.ts';
import type { RunTrigger } from '../sync/sync.contracts.ts';

/**
 * Reading the run history (rr_sync.runs) and recording runs that did not happen. Real runs are
 * recorded by their job through runs.history.ts.
 */

export interface SkippedRun {
  kind: string;
  trigger: RunTrigger;
  reason: string;
  /** This process (hostname:pid:random). */
  instance: string;
  /** The scheduled tick, when the run was a cron tick. */
  tick?: Date;
  /** The instance that claimed the tick, when another one did. */
  claimedBy?: string;
}

/** A tick or start-up run that did not run, with why: it is history too (status 'skipped', exit 0). */
export async function insertSkippedRun(db: Queryable, run: SkippedRun): Promise<number> {
  const summary = {
    reason: run.reason,
    instance: run.instance,
    ...(run.tick ? { tick: run.tick.toISOString() } : {}),
    ...(run.claimedBy ? { claimedBy: run.claimedBy } : {}),
  };
  const { rows } = await db.query<{ id: string }>(
    `insert into rr_sync.runs (kind, status, trigger, exit_code, summary, finished_at)
     values ($1, 'skipped', $2, 0, $3, now()) returning id`,
    [run.kind, run.trigger, JSON.stringify(summary)],
  );
  return Number(rows[0].id);
}

/**
 * When a feed last reached Retail Rocket's side: the latest published version, or the latest feed
 * or sync run that found the published feed current (unchanged).
 */
export async function lastSuccessfulFeedAt(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `select greatest(
       (select max(published_at) from rr_sync.feed_versions),
       (select max(coalesce(finished_at, started_at)) from rr_sync.runs
         where kind in ('feed', 'sync') and status in ('published', 'unchanged'))
     ) as at`,
  );
  return rows[0].at;
}

export interface RunRow {
  id: number;
  kind: string;
  trigger: string;
  status: string;
  startedAt: string;
  durationSeconds: number | null;
  exitCode: number | null;
  error: string | null;
  /** Why a run was skipped or refused (summary.reason). */
  reason: string | null;
}

/** The latest runs, newest first. */
export async function listRecentRuns(db: Queryable, limit: number): Promise<RunRow[]> {
  const { rows } = await db.query<{
    id: string;
    kind: string;
    trigger: string;
    status: string;
    started_at: Date;
    duration: string | null;
    exit_code: number | null;
    error: string | null;
    reason: string | null;
  }>(
    `select id, kind, trigger, status, started_at, exit_code, error, summary->>'reason' as reason,
            round(extract(epoch from finished_at - started_at), 2)::text as duration
       from rr_sync.runs order by started_at desc, id desc limit $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    trigger: r.trigger,
    status: r.status,
    startedAt: r.started_at.toISOString(),
    durationSeconds: r.duration === null ? null : Number(r.duration),
    exitCode: r.exit_code,
    error: r.error,
    reason: r.reason,
  }));
}
