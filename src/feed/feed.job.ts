import {
  runCatalogJob,
  type CatalogJobDeps,
  type CatalogRunOptions,
  type FeedSummary,
} from '../pipeline/catalog.job.ts';

export type { FeedSummary } from '../pipeline/catalog.job.ts';
export type FeedJobDeps = CatalogJobDeps;

export interface FeedJobOptions extends CatalogRunOptions {
  /** Validate only: no feed file is written (`rr-sync validate`). */
  validateOnly?: boolean;
}

/**
 * `rr-sync feed` and `rr-sync validate`: the catalog pass with the feed as its only sink (or none).
 * The feed alone does not touch the sync state: the next sync diffs against what was pushed or
 * synced, and pushes what this feed already carries (harmless: an upsert is idempotent).
 */
export async function runFeedJob(deps: FeedJobDeps, options: FeedJobOptions = {}): Promise<FeedSummary> {
  const { extension: _none, ...summary } = await runCatalogJob<never>(deps, {
    kind: options.validateOnly ? 'validate' : 'feed',
    trigger: options.trigger,
    feed: !options.validateOnly,
    dryRun: options.dryRun,
    force: options.force,
    now: options.now,
    signal: options.signal,
    onProgress: options.onProgress,
    hooks: options.hooks,
  });
  return summary;
}
