import { once } from 'node:events';
import type { Config } from '../../config.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import { startServer, type AppServer } from '../../server/server.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Command } from '../command.ts';

/** Where Retail Rocket should pull the feed: under FEED_BASE_URL (the service's public URL) when set. */
export function feedUrlFor(config: Config, port: number): string {
  const base = config.feedBaseUrl ?? `http://localhost:${port}/`;
  return new URL('feeds/catalog.xml', base.endsWith('/') ? base : `${base}/`).toString();
}

/** Start the HTTP server on PORT; a port in use or privileged is a configuration error (exit 2). */
export async function listenOnPort(config: Config, logger: Logger): Promise<AppServer> {
  return startServer({ config, logger }, { port: config.port }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES') throw err;
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
    throw new AppError('config.invalid', `PORT: ${config.port} ${why}; choose another PORT.`, { cause: err });
  });
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the published feed (and /healthz) over HTTP on PORT until Ctrl-C; no database needed',
  flags: {},
  async run(ctx) {
    const server = await listenOnPort(ctx.config, ctx.logger);
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
