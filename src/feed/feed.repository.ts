import type { Queryable } from '../db/pool.ts';
import type { FeedManifest } from './feed.layout.ts';

export type RunKind = 'feed' | 'validate';
export type RunStatus =
  'running' | 'published' | 'unchanged' | 'refused' | 'failed' | 'validated' | 'dry_run';

export async function insertRun(db: Queryable, kind: RunKind): Promise<number> {
  const { rows } = await db.query<{ id: string }>(
    "insert into rr_sync.runs (kind, status) values ($1, 'running') returning id",
    [kind],
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

export async function insertFeedVersion(db: Queryable, runId: number | null, m: FeedManifest): Promise<void> {
  await db.query(
    `insert into rr_sync.feed_versions
       (run_id, version, sha256, content_sha256, gz_sha256, offers, bytes, gz_bytes, published_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     on conflict (version) do update set run_id = excluded.run_id, published_at = excluded.published_at`,
    [runId, m.version, m.sha256, m.contentSha256, m.gzSha256, m.offers, m.bytes, m.gzBytes, m.publishedAt],
  );
}

/**
 * Runs still marked running when a new run holds the job lock died without finishing (killed,
 * machine lost): record them as failed, so the history tells the truth.
 */
export async function closeAbandonedRuns(db: Queryable, kinds: RunKind[]): Promise<number> {
  const { rowCount } = await db.query(
    `update rr_sync.runs set status = 'failed', exit_code = 1, finished_at = now(),
            error = 'the process ended before the run finished (killed or crashed); nothing was published'
      where status = 'running' and kind = any($1)`,
    [kinds],
  );
  return rowCount ?? 0;
}
