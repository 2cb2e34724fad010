import path from 'node:path';
import {
  runCatalogJob,
  type CatalogJobResult,
  type CatalogRunOptions,
  type FeedSummary,
} from '../pipeline/catalog.job.ts';
import type { ChangeCounts, SyncDeps } from './sync.contracts.ts';
import { DiffSink } from './sync.diff.ts';
import { applyStage } from './sync.apply.ts';

export interface SyncJobOptions extends CatalogRunOptions {
  /** `resync --full`: enqueue every valid item whatever its hash (resumable). */
  full?: boolean;
}

/** What the pass and the apply step found, in items (product, product x stock and group records). */
export interface SyncChanges extends ChangeCounts {
  enqueued: number;
  /** The state was empty: recorded from the feed, nothing pushed (design §7). */
  baseline: boolean;
  /** JSON lines: {key, kind, fields} for every item enqueued (or that would be, on a dry run). */
  diffReportPath: string;
}

export type SyncSummary = FeedSummary & { changes: SyncChanges | null };

export const DIFF_REPORT = 'last-sync.diff.ndjson';

/**
 * One sync pass (design §2, issue "one pass, two channels, one truth"): the catalog is read once;
 * the same pass writes the feed candidate and diffs every product against what Retail Rocket was
 * given. After the feed is published (or found unchanged), the changes are enqueued in the outbox
 * and the state updated in one transaction. Pushing is the pusher's (src/sync/pusher.ts).
 */
export async function runSyncJob(deps: SyncDeps, options: SyncJobOptions = {}): Promise<SyncSummary> {
  const diff = new DiffSink(deps.state, { full: Boolean(options.full) });
  const diffReportPath = path.join(deps.config.feedsDir, DIFF_REPORT);
  const result: CatalogJobResult<SyncChanges> = await runCatalogJob(deps, {
    kind: options.full ? 'resync' : 'sync',
    trigger: options.trigger,
    actor: options.actor,
    onStart: options.onStart,
    feed: true,
    dryRun: options.dryRun,
    force: options.force,
    now: options.now,
    signal: options.signal,
    onProgress: options.onProgress,
    hooks: options.hooks,
    extension: {
      sink: diff,
      gate: (force) => diff.gate(deps.config.feedMaxDrop, force),
      async apply({ runId, dryRun }) {
        const applied = await applyStage(diff.client, {
          runId,
          full: Boolean(options.full),
          baseline: diff.baseline,
          dryRun,
          diffReportPath,
          categoryPaths: diff.pathsChanged ? diff.categoryPaths : null,
          stateRows: diff.stateRows,
          logger: deps.logger,
        });
        return {
          new: applied.new,
          changed: applied.changed,
          unavailable: applied.unavailable,
          unchanged: applied.unchanged + diff.counts.unchangedItems,
          invalid: 0,
          enqueued: applied.enqueued,
          baseline: diff.baseline,
          diffReportPath,
        };
      },
      dispose: () => diff.dispose(),
    },
  });
  const { extension, ...summary } = result;
  return {
    ...summary,
    changes: extension ? { ...extension, invalid: summary.rejectedProducts } : null,
  };
}
