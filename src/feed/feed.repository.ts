import type { Queryable } from '../db/pool.ts';
import { ABANDONED_RUN_ERROR } from '../runs/runs.history.ts';
import type { FeedManifest } from './feed.layout.ts';

// The run history moved to src/runs (every job records runs); re-exported for existing callers.
export {
  closeAbandonedRuns,
  finishRun,
  insertRun,
  type RunKind,
  type RunStatus,
} from '../runs/runs.history.ts';

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
 * Record run `id` as published because its feed is live, whatever it recorded last (failed, or
 * still running when its process lost the database). True when the row changed.
 */
export async function markRunPublished(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `update rr_sync.runs
        set status = 'published', finished_at = coalesce(finished_at, now()),
            error = 'the feed went live, but recording it failed at first'
                    || coalesce(': ' || nullif(error, $2), '') || '; recorded later'
      where id = $1 and status <> 'published'`,
    [id, ABANDONED_RUN_ERROR],
  );
  return (rowCount ?? 0) > 0;
}
