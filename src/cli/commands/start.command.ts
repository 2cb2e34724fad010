import { once } from 'node:events';
import { feedUrlFor, startApp } from '../../app/app.ts';
import { migrate } from '../../db/migrate.ts';
import { demoProductCount, seedDemo } from '../../demo/demo.seed.ts';
import { runFeedJob, type FeedSummary } from '../../feed/feed.job.ts';
import { summaryLine } from '../../feed/feed.summary.ts';
import { EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';
import { createProgress } from '../progress.ts';
import { DEFAULT_DEMO_PRODUCTS } from './demo.command.ts';

/**
 * `npm start`: the whole main job on whatever database is configured (the embedded one on a
 * fresh machine): seed the demo store if needed, build and publish the feed, then serve it
 * until Ctrl-C.
 */
export const startCommand: Command = {
  name: 'start',
  summary:
    'build the feed (seeding the demo store on the embedded database), serve it on PORT until Ctrl-C (npm start)',
  usage: 'start [--demo] [--json]',
  flags: {
    demo: {
      type: 'boolean',
      description:
        'seed the demo store into CATALOG_SCHEMA when it has no products relation, also on DATABASE_URL',
    },
  },
  async run(ctx) {
    const { config, logger } = ctx;
    // Bind first: a busy PORT must stop the command before it seeds or publishes anything. The
    // server meanwhile serves the previously published feed (or 503 before the first one).
    const server = await startApp({ config, logger }, { storefront: 'absent' });
    let feed: FeedSummary | undefined;
    try {
      const dbs = await openDatabases(config, logger);
      try {
        await migrate(dbs.state, logger);
        // The demo goes only where it cannot hurt: the embedded database, or on request. On a
        // real store a missing relation (a CATALOG_SCHEMA typo) is catalog.relation_missing from
        // the feed job, never a fake catalog published over the real feed.
        const seed = dbs.embedded || Boolean(ctx.flags.demo);
        if (seed && (await demoProductCount(dbs.catalog, config.catalogSchema)) === null) {
          ctx.out(
            `no ${config.catalogSchema}.products relation: seeding the demo store (${DEFAULT_DEMO_PRODUCTS} products)`,
          );
          await seedDemo(
            dbs.catalog,
            { schema: config.catalogSchema, products: DEFAULT_DEMO_PRODUCTS },
            logger,
          );
        }
        const progress = createProgress('feed');
        const summary = await runFeedJob(
          { catalog: dbs.catalog, state: dbs.state, config, logger },
          { onProgress: progress.update, signal: ctx.signal },
        ).finally(progress.done);
        feed = summary;
        ctx.out(summaryLine('feed', summary));
        ctx.out(`run report: ${summary.reportPath}`);
      } finally {
        await dbs.close();
      }
      const feedUrl = feedUrlFor(config, server.port);
      // With --json the lines above went to stderr; this is the one stdout line, once ready.
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, feed, listening: server.url, feedUrl }));
      ctx.out(`feed URL for Retail Rocket: ${feedUrl}\nserving ${server.url} (Ctrl-C to stop)`);
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
    } finally {
      await server.close();
    }
    return EXIT.ok;
  },
};
