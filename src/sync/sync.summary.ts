import { count, formatDuration } from '../shared/text.ts';
import type { PushReport } from './sync.contracts.ts';
import type { SyncSummary } from './sync.job.ts';

/** The JSON summary of `sync` / `resync` (the names the issue and the README fix). */
export function syncJson(s: SyncSummary, push: PushReport | null, pendingWithoutPush: number) {
  const c = s.changes;
  const { changes: _c, ...feed } = s;
  return {
    ok: s.exitCode === 0,
    new: c?.new ?? 0,
    changed: c?.changed ?? 0,
    unavailable: c?.unavailable ?? 0,
    unchanged: c?.unchanged ?? 0,
    invalid: c?.invalid ?? s.rejectedProducts,
    enqueued: c?.enqueued ?? 0,
    pushed: push?.pushed ?? 0,
    deadLetters: push?.deadLetters ?? 0,
    pending: push?.pending ?? pendingWithoutPush,
    feed: s.status === 'published' || s.status === 'unchanged' ? s.version : null,
    baseline: c?.baseline ?? false,
    diffReportPath: c?.diffReportPath ?? null,
    ...(push?.unreachable ? { unreachable: true } : {}),
    run: feed,
  };
}

/** The one-line human summary of `sync` / `resync`. */
export function syncLine(
  kind: 'sync' | 'resync',
  s: SyncSummary,
  push: PushReport | null,
  pending: number,
): string {
  const c = s.changes;
  const feed =
    s.status === 'published'
      ? `feed published (version ${s.version})`
      : s.status === 'unchanged'
        ? `feed unchanged (version ${s.version})`
        : s.status === 'dry_run'
          ? 'dry run: nothing published, enqueued or recorded'
          : `feed ${s.status}`;
  const head = `${kind}: ${feed}, ${count(s.offers, 'offer')}, ${count(s.rejectedProducts, 'product')} rejected`;
  if (!c) return `${head}${s.reason ? ` (${s.reason})` : ''}, ${formatDuration(s.seconds)}`;
  const what = s.status === 'dry_run' ? 'would enqueue' : 'enqueued';
  const items = `items: ${c.new} new, ${c.changed} changed, ${c.unavailable} unavailable, ${c.unchanged} unchanged; ${what} ${c.enqueued}`;
  const baseline = c.baseline
    ? ' (first sync: the published feed carries the catalog; nothing pushed, later syncs push changes)'
    : '';
  const pushed = push
    ? `; pushed ${push.pushed}, dead letters ${push.deadLetters}, pending ${push.pending}${push.unreachable ? ' (Retail Rocket unreachable)' : ''}`
    : s.status === 'dry_run'
      ? ''
      : `; pending ${pending}`;
  return `${head}, ${items}${baseline}${pushed}, ${formatDuration(s.seconds)}; diff report: ${c.diffReportPath}`;
}
