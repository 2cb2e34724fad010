import { once } from 'node:events';
import { migrate } from '../../db/migrate.ts';
import { feedJobFor, syncJobFor } from '../../scheduler/scheduler.jobs.ts';
import { createScheduler } from '../../scheduler/scheduler.ts';
import { EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { openDatabases, type Databases } from '../databases.ts';
import { feedUrlFor, listenOnPort } from './serve.command.ts';

/** How long a stop waits for an in-flight run before aborting it (issue 7: 10 s). */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * `rr-sync run`: the service. The port is bound first (a busy PORT fails before any work), then
 * the state schema is migrated and the scheduler started. The first SIGTERM/SIGINT stops
 * scheduling and lets an in-flight run finish within SHUTDOWN_GRACE_MS, then aborts it; the CLI
 * exits 130 on a second signal.
 */
export const runCommand: Command = {
  name: 'run',
  summary:
    'the service: serve HTTP on PORT, run the feed on FEED_CRON and the sync on SYNC_CRON until SIGTERM',
  usage: 'run [--json]',
  flags: {},
  async run(ctx) {
    const { config, logger } = ctx;
    const server = await listenOnPort(config, logger);
    let dbs: Databases | undefined;
    let abandoned = false;
    try {
      dbs = await openDatabases(config, logger);
      await migrate(dbs.state, logger);
      // Stopped while still starting (an embedded PostgreSQL can take seconds): schedule nothing.
      if (ctx.signal.aborted) return EXIT.ok;
      const jobDeps = { catalog: dbs.catalog, state: dbs.state, config, logger };
      const scheduler = createScheduler({
        jobs: { feed: feedJobFor(jobDeps), sync: syncJobFor(jobDeps) },
        state: dbs.state,
        config,
        logger,
      });
      await scheduler.start();
      const feedUrl = feedUrlFor(config, server.port);
      if (ctx.json)
        ctx.out(JSON.stringify({ ok: true, listening: server.url, feedUrl, instance: scheduler.instance }));
      else
        ctx.out(
          `serving ${server.url}\nfeed URL for Retail Rocket: ${feedUrl}\ninstance ${scheduler.instance}; SIGTERM or Ctrl-C to stop`,
        );
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
      logger.info({ graceMs: SHUTDOWN_GRACE_MS }, 'stopping: no new ticks');
      const stopped = await scheduler.stop({ timeoutMs: SHUTDOWN_GRACE_MS });
      logger.info({ ...stopped }, 'scheduler stopped');
      // A run left behind still holds a pooled connection, and closing a pool waits for it.
      abandoned = stopped.abandoned;
      return EXIT.ok;
    } finally {
      await server.close();
      const closing = dbs?.close();
      if (abandoned) await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000).unref())]);
      else await closing;
    }
  },
};
