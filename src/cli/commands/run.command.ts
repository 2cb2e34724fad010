import { once } from 'node:events';
import { feedUrlFor, startApp } from '../../app/app.ts';
import { migrate } from '../../db/migrate.ts';
import { createServiceClient, startStorefront, type Storefront } from '../../app/storefront.ts';
import type { RetailRocketClient } from '../../rr/index.ts';
import { feedJobFor, syncJobFor } from '../../scheduler/scheduler.jobs.ts';
import { createScheduler, defaultInstanceId } from '../../scheduler/scheduler.ts';
import { EXIT } from '../../shared/errors.ts';
import { createPusher, type Pusher } from '../../sync/pusher.ts';
import type { Command } from '../command.ts';
import { openDatabases, type Databases } from '../databases.ts';

/** How long a stop waits for an in-flight run and for pushes in flight (issue 7: 10 s). */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * `rr-sync run`: the service. The port is bound first (a busy PORT fails before any work), then
 * the state schema is migrated, the scheduler started and a continuous pusher. The first
 * SIGTERM/SIGINT stops scheduling and claiming, lets an in-flight run and pushes in flight finish
 * within SHUTDOWN_GRACE_MS, then aborts the run; the CLI exits 130 on a second signal.
 */
export const runCommand: Command = {
  name: 'run',
  summary:
    'the service: serve HTTP on PORT, run the feed on FEED_CRON and the sync on SYNC_CRON, push until SIGTERM',
  usage: 'run [--json]',
  flags: {},
  async run(ctx) {
    const { config, logger } = ctx;
    const server = await startApp({ config, logger });
    let rr: RetailRocketClient | null = null;
    let dbs: Databases | undefined;
    let abandoned = false;
    let storefront: Storefront | undefined;
    try {
      rr = createServiceClient(config, logger, (info) => server.ops.metrics.onCall(info));
      dbs = await openDatabases(config, logger);
      await migrate(dbs.state, logger);
      // Stopped while still starting (an embedded PostgreSQL can take seconds): start nothing.
      if (ctx.signal.aborted) return EXIT.ok;
      const instance = defaultInstanceId();
      // Events, recommendations, the status page and /metrics on the state database from now on.
      storefront = startStorefront(server, { ...dbs, rr, config, logger, owner: instance });
      const sender = storefront.sender;
      const jobDeps = { catalog: dbs.catalog, state: dbs.state, config, logger };
      const scheduler = createScheduler({
        jobs: {
          feed: feedJobFor(jobDeps),
          // A sync may have made the ids of parked events known: send those now, not in a minute.
          sync: syncJobFor(jobDeps, () => void sender?.recheckParked().catch(() => undefined)),
        },
        state: dbs.state,
        config,
        logger,
        instance,
      });
      const pusher: Pusher | null = rr
        ? createPusher({
            state: dbs.state,
            rr,
            config,
            logger,
            owner: instance,
            onOutcome: server.ops.onPush,
          })
        : null;
      await scheduler.start();
      pusher?.start();
      const feedUrl = feedUrlFor(config, server.port);
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, listening: server.url, feedUrl, instance }));
      else
        ctx.out(
          `serving ${server.url}\nfeed URL for Retail Rocket: ${feedUrl}\ninstance ${instance}; SIGTERM or Ctrl-C to stop`,
        );
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
      logger.info({ graceMs: SHUTDOWN_GRACE_MS }, 'stopping: no new ticks, no new claims');
      const [stopped] = await Promise.all([
        scheduler.stop({ timeoutMs: SHUTDOWN_GRACE_MS }),
        pusher?.stop({ timeoutMs: SHUTDOWN_GRACE_MS }),
        storefront.stop({ timeoutMs: SHUTDOWN_GRACE_MS }),
      ]);
      logger.info({ ...stopped }, 'scheduler, pusher and event sender stopped');
      // A run left behind still holds a pooled connection, and closing a pool waits for it.
      abandoned = stopped.abandoned;
      return EXIT.ok;
    } finally {
      await storefront?.stop({ timeoutMs: SHUTDOWN_GRACE_MS });
      await server.close();
      await rr?.close();
      const closing = dbs?.close();
      if (abandoned) await Promise.race([closing, new Promise((r) => setTimeout(r, 5_000).unref())]);
      else await closing;
    }
  },
};
