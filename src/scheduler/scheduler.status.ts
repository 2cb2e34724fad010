import type { Queryable } from '../db/pool.ts';
import { listRecentRuns, type RunRow } from '../runs/runs.repository.ts';

/** `rr-sync status --json`: one line, these keys (README "Running in production"). */
export interface StatusReport {
  outbox: { pending: number; oldestPendingSeconds: number | null };
  deadLetters: number;
  feed: { version: string; offers: number } | null;
  runs: RunRow[];
}

export async function readStatus(db: Queryable, runs: number): Promise<StatusReport> {
  const [outbox, dead, feed, recent] = await Promise.all([
    db.query<{ pending: string; oldest: string | null }>(
      `select count(*) as pending, floor(extract(epoch from now() - min(enqueued_at)))::text as oldest
         from rr_sync.outbox`,
    ),
    db.query<{ n: string }>('select count(*) as n from rr_sync.dead_letters where requeued_at is null'),
    // Republishing an identical version moves its published_at: the latest is the one served.
    db.query<{ version: string; offers: number }>(
      'select version, offers from rr_sync.feed_versions order by published_at desc, id desc limit 1',
    ),
    listRecentRuns(db, runs),
  ]);
  const oldest = outbox.rows[0].oldest;
  return {
    outbox: {
      pending: Number(outbox.rows[0].pending),
      oldestPendingSeconds: oldest === null ? null : Math.max(0, Number(oldest)),
    },
    deadLetters: Number(dead.rows[0].n),
    feed: feed.rows[0] ? { version: feed.rows[0].version, offers: feed.rows[0].offers } : null,
    runs: recent,
  };
}

const seconds = (s: number | null) => (s === null ? '-' : `${s.toFixed(1)} s`);

/** The human form of the report, for a terminal. */
export function formatStatus(s: StatusReport): string {
  const lines = [
    s.feed ? `feed: version ${s.feed.version}, ${s.feed.offers} offers` : 'feed: none published yet',
    `outbox: ${s.outbox.pending} pending${
      s.outbox.oldestPendingSeconds === null ? '' : `, oldest ${s.outbox.oldestPendingSeconds} s`
    }`,
    `dead letters: ${s.deadLetters} open`,
    s.runs.length ? 'last runs (newest first):' : 'no runs yet',
  ];
  for (const r of s.runs) {
    const note = r.error ?? r.reason;
    lines.push(
      `  #${r.id} ${r.kind} ${r.trigger} ${r.status} started ${r.startedAt} took ${seconds(r.durationSeconds)} exit ${
        r.exitCode ?? '-'
      }${note ? ` (${note})` : ''}`,
    );
  }
  return lines.join('\n');
}
