import { runCatalogJob, type CatalogJobDeps } from '../pipeline/catalog.job.ts';
import { runSyncJob } from '../sync/sync.job.ts';
import type { JobFn } from './scheduler.ts';

/**
 * The nightly feed as a scheduled job: the catalog pass with the feed sink (what `rr-sync feed`
 * runs), recorded with the trigger the scheduler gives and aborted by its signal.
 */
export function feedJobFor(deps: CatalogJobDeps): JobFn {
  return async (trigger, signal) => {
    const summary = await runCatalogJob<never>(deps, { kind: 'feed', feed: true, trigger, signal });
    return { status: summary.status, exitCode: summary.exitCode, runId: summary.runId };
  };
}

/**
 * The incremental sync as a scheduled job: one pass (feed + diff + enqueue); pushing is the
 * pusher's. `onSynced` runs after a run that changed the index (e.g. re-check parked events).
 */
export function syncJobFor(deps: CatalogJobDeps, onSynced?: () => void): JobFn {
  return async (trigger, signal) => {
    const summary = await runSyncJob(deps, { trigger, signal });
    if (summary.status === 'published' || summary.status === 'unchanged') onSynced?.();
    return { status: summary.status, exitCode: summary.exitCode, runId: summary.runId };
  };
}
