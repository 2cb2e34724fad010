import { once } from 'node:events';
import { feedUrlFor, startApp } from '../../app/app.ts';
import { EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the published feed (and /healthz) over HTTP on PORT until Ctrl-C; no database needed',
  flags: {},
  async run(ctx) {
    const server = await startApp({ config: ctx.config, logger: ctx.logger });
    const feedUrl = feedUrlFor(ctx.config, server.port);
    const tokenNote = ctx.config.feedToken ? ' (FEED_TOKEN required: ?token=… or basic auth)' : '';
    if (ctx.json) ctx.out(JSON.stringify({ ok: true, listening: server.url, feedUrl }));
    else ctx.out(`serving ${server.url}\nfeed URL for Retail Rocket: ${feedUrl}${tokenNote}\nCtrl-C to stop`);
    try {
      if (!ctx.signal.aborted) await once(ctx.signal, 'abort');
    } finally {
      await server.close();
    }
    return EXIT.ok;
  },
};
