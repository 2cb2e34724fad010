import { runFeedJob, type FeedJobDeps } from '../feed/feed.job.ts';
import { setRunTrigger } from '../runs/runs.repository.ts';
import type { JobFn } from './scheduler.ts';

/** The nightly feed as a scheduled job: the feed job, aborted by the scheduler's signal. */
export function feedJobFor(deps: FeedJobDeps): JobFn {
  return async (trigger, signal) => {
    const summary = await runFeedJob(deps, { signal });
    // runFeedJob records every run as manual; the history must say what started it.
    if (summary.runId !== null) await setRunTrigger(deps.state, summary.runId, trigger);
    return { status: summary.status, exitCode: summary.exitCode, runId: summary.runId };
  };
}
