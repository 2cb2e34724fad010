import type { Queryable } from '../db/pool.ts';
import type { RunTrigger } from '../sync/sync.contracts.ts';

/** Every job records its runs here (rr_sync.runs), whatever it is: feed, sync, push, ... */
/**
 * rollback: the served feed switched to another kept version; requeue: dead letters put back in
 * the outbox (both from the status page or /admin).
 */
export type RunKind = 'feed' | 'validate' | 'sync' | 'resync' | 'push' | 'rollback' | 'requeue';
export type RunStatus =
  | 'running'
  | 'published'
  | 'unchanged'
  | 'refused'
  | 'failed'
  | 'validated'
  | 'dry_run'
  | 'pushed'
  | 'skipped'
  | 'activated'
  | 'requeued';

/** `actor`: who asked for an admin run (a session, a Bearer script, a loopback client). */
export async function insertRun(
  db: Queryable,
  kind: RunKind,
  trigger: RunTrigger = 'manual',
  actor?: string,
): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    "insert into rr_sync.runs (kind, status, trigger, actor) values ($1, 'running', $2, $3) returning id",
    [kind, trigger, actor ?? null],
  );
  return Number(rows[0].id);
}

export async function finishRun(
  db: Queryable,
  id: number,
  outcome: { status: RunStatus; exitCode: number; summary: unknown; report: unknown; error?: string },
): Promise<void> {
  await db.query(
    `update rr_sync.runs set status = $2, exit_code = $3, summary = $4, report = $5, error = $6, finished_at = now()
      where id = $1`,
    [
      id,
      outcome.status,
      outcome.exitCode,
      JSON.stringify(outcome.summary),
      JSON.stringify(outcome.report),
      outcome.error ?? null,
    ],
  );
}

/** What a run that died without finishing is recorded with (a later run may correct it). */
export const ABANDONED_RUN_ERROR =
  'the process ended before the run finished (killed or crashed); nothing was published';

/**
 * Runs still marked running when a new run holds the job lock died without finishing (killed,
 * machine lost): record them as failed, so the history tells the truth.
 */
export async function closeAbandonedRuns(db: Queryable, kinds: RunKind[]): Promise<number> {
  const { rowCount } = await db.query(
    `update rr_sync.runs set status = 'failed', exit_code = 1, finished_at = now(),
            error = $2
      where status = 'running' and kind = any($1)`,
    [kinds, ABANDONED_RUN_ERROR],
  );
  return rowCount ?? 0;
}
