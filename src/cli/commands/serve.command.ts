import { once } from 'node:events';
import { feedUrlFor, startApp } from '../../app/app.ts';
import { createServiceClient, startStorefront, type Storefront } from '../../app/storefront.ts';
import { migrate } from '../../db/migrate.ts';
import type { RetailRocketClient } from '../../rr/index.ts';
import { EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { openDatabases, type Databases } from '../databases.ts';

/** How long a stop waits for event calls in flight. */
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * `rr-sync serve`: the HTTP service without the scheduler and the pusher: the published feed from
 * the moment the port is bound, then (once the database is open) the storefront API with its event
 * sender, the status page, /metrics and the admin routes. `run` is this plus the scheduled jobs.
 */
export const serveCommand: Command = {
  name: 'serve',
  summary:
    'serve HTTP on PORT until Ctrl-C: the published feed, the storefront API (events, recommendations) with its event sender, status page and /metrics',
  flags: {},
  async run(ctx) {
    const { config, logger } = ctx;
    const server = await startApp({ config, logger });
    let rr: RetailRocketClient | null = null;
    let dbs: Databases | undefined;
    let storefront: Storefront | undefined;
    try {
      rr = createServiceClient(config, logger, (info) => server.ops.metrics.onCall(info));
      dbs = await openDatabases(config, logger);
      await migrate(dbs.state, logger);
      if (ctx.signal.aborted) return EXIT.ok;
      storefront = startStorefront(server, { ...dbs, rr, config, logger });
      const feedUrl = feedUrlFor(config, server.port);
      const tokenNote = config.feedToken ? ' (FEED_TOKEN required: ?token=… or basic auth)' : '';
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, listening: server.url, feedUrl }));
      else
        ctx.out(`serving ${server.url}\nfeed URL for Retail Rocket: ${feedUrl}${tokenNote}\nCtrl-C to stop`);
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
      return EXIT.ok;
    } finally {
      await storefront?.stop({ timeoutMs: SHUTDOWN_GRACE_MS });
      await server.close();
      await rr?.close();
      await dbs?.close();
    }
  },
};
