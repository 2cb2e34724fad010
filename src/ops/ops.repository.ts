import type { Queryable } from '../db/pool.ts';

/** The queries of the operator surface (rr_sync.runs, rr_sync.ops_samples). */

export interface RunListItem {
  id: number;
  kind: string;
  trigger: string;
  actor: string | null;
  status: string;
  startedAt: string;
  durationSeconds: number | null;
  exitCode: number | null;
  error: string | null;
  /** Why a run was skipped or refused (summary.reason). */
  reason: string | null;
  /** Figures of its summary, when it has them. */
  offers: number | null;
  rejected: number | null;
  enqueued: number | null;
  version: string | null;
}

const RUN_COLUMNS = `id, kind, trigger, actor, status, started_at, exit_code, error,
  summary->>'reason' as reason, (summary->>'offers')::int as offers,
  (summary->>'rejectedProducts')::int as rejected, (summary->>'enqueued')::int as enqueued,
  summary->>'version' as version,
  round(extract(epoch from finished_at - started_at), 2)::float8 as duration`;

interface RunDbRow {
  id: string;
  kind: string;
  trigger: string;
  actor: string | null;
  status: string;
  started_at: Date;
  exit_code: number | null;
  error: string | null;
  reason: string | null;
  offers: number | null;
  rejected: number | null;
  enqueued: number | null;
  version: string | null;
  duration: number | null;
}

const toItem = (r: RunDbRow): RunListItem => ({
  id: Number(r.id),
  kind: r.kind,
  trigger: r.trigger,
  actor: r.actor,
  status: r.status,
  startedAt: r.started_at.toISOString(),
  durationSeconds: r.duration,
  exitCode: r.exit_code,
  error: r.error,
  reason: r.reason,
  offers: r.offers,
  rejected: r.rejected,
  enqueued: r.enqueued,
  version: r.version,
});

/** The latest runs, newest first. */
export async function listRuns(db: Queryable, limit: number): Promise<RunListItem[]> {
  const { rows } = await db.query<RunDbRow>(
    `select ${RUN_COLUMNS} from rr_sync.runs order by started_at desc, id desc limit $1`,
    [limit],
  );
  return rows.map(toItem);
}

export interface RunDetail extends RunListItem {
  finishedAt: string | null;
  summary: unknown;
  report: unknown;
}

export async function findRun(db: Queryable, id: number): Promise<RunDetail | null> {
  const { rows } = await db.query<RunDbRow & { finished_at: Date | null; summary: unknown; report: unknown }>(
    `select ${RUN_COLUMNS}, finished_at, summary, report from rr_sync.runs where id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    ...toItem(r),
    finishedAt: r.finished_at?.toISOString() ?? null,
    summary: r.summary,
    report: r.report,
  };
}

/** The catalog run holding the job lock, as recorded (newest running feed/validate/sync/resync/rollback). */
export async function findRunningRun(db: Queryable): Promise<RunListItem | null> {
  const { rows } = await db.query<RunDbRow>(
    `select ${RUN_COLUMNS} from rr_sync.runs
      where status = 'running' and kind in ('feed', 'validate', 'sync', 'resync', 'rollback')
      order by started_at desc, id desc limit 1`,
  );
  return rows[0] ? toItem(rows[0]) : null;
}

export interface FinishedRun {
  id: number;
  kind: string;
  status: string;
  seconds: number;
  /** As PostgreSQL prints it (microseconds kept: a Date would round the cursor and count a run twice). */
  finishedAt: string;
}

/**
 * Runs finished after the cursor (finished_at, id), oldest first: what the run-duration histogram
 * has not counted yet. A run started before a later one may finish after it: the cursor is its end.
 */
export async function finishedRunsAfter(
  db: Queryable,
  cursor: { at: string; id: number } | null,
  limit: number,
): Promise<FinishedRun[]> {
  const { rows } = await db.query<{
    id: string;
    kind: string;
    status: string;
    seconds: number;
    finished_at: string;
  }>(
    `select id, kind, status, greatest(0, extract(epoch from finished_at - started_at))::float8 as seconds,
            finished_at::text as finished_at
       from rr_sync.runs
      where finished_at is not null
        and ($1::timestamptz is null or (finished_at, id) > ($1::timestamptz, $2::bigint))
      order by finished_at, id limit $3`,
    [cursor?.at ?? null, cursor?.id ?? 0, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    status: r.status,
    seconds: r.seconds,
    finishedAt: r.finished_at,
  }));
}

export interface OpsSample {
  at: string;
  offers: number | null;
  outboxPending: number | null;
  outboxOldestSeconds: number | null;
  deadLetters: number | null;
  pushes: number | null;
  events: number | null;
  recommendations: Record<string, number> | null;
}

/** One sample for the current minute, unless another instance wrote it already. */
export async function insertSample(
  db: Queryable,
  s: Omit<OpsSample, 'at'>,
  instance: string,
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into rr_sync.ops_samples
       (at, offers, outbox_pending, outbox_oldest_seconds, dead_letters, pushes, events, recommendations, instance)
     values (date_trunc('minute', now()), $1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (at) do nothing`,
    [
      s.offers,
      s.outboxPending,
      s.outboxOldestSeconds,
      s.deadLetters,
      s.pushes,
      s.events,
      s.recommendations === null ? null : JSON.stringify(s.recommendations),
      instance,
    ],
  );
  return (rowCount ?? 0) > 0;
}

/** Keep the history bounded: samples older than `keepDays` go. */
export async function pruneSamples(db: Queryable, keepDays = 7): Promise<number> {
  const { rowCount } = await db.query(
    `delete from rr_sync.ops_samples where at < now() - make_interval(days => $1)`,
    [keepDays],
  );
  return rowCount ?? 0;
}

export async function listSamples(db: Queryable, sinceHours: number): Promise<OpsSample[]> {
  const { rows } = await db.query<{
    at: Date;
    offers: number | null;
    outbox_pending: number | null;
    outbox_oldest_seconds: number | null;
    dead_letters: number | null;
    pushes: number | null;
    events: number | null;
    recommendations: Record<string, number> | null;
  }>(
    `select at, offers, outbox_pending, outbox_oldest_seconds, dead_letters, pushes, events, recommendations
       from rr_sync.ops_samples where at >= now() - make_interval(hours => $1) order by at`,
    [sinceHours],
  );
  return rows.map((r) => ({
    at: r.at.toISOString(),
    offers: r.offers,
    outboxPending: r.outbox_pending,
    outboxOldestSeconds: r.outbox_oldest_seconds,
    deadLetters: r.dead_letters,
    pushes: r.pushes,
    events: r.events,
    recommendations: r.recommendations,
  }));
}
