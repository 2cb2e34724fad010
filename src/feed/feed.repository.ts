import type { Queryable } from '../db/pool.ts';
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
