import type { Config } from '../config.ts';
import { createFeedRoutes } from '../server/feed.routes.ts';
import { createPullRegistry, type PullRegistry } from '../server/feed.pulls.ts';
import { createFeedSource, type FeedSource } from '../server/feed.source.ts';
import { createOps, type Ops } from '../ops/ops.ts';
import type { OpsProviders } from '../ops/ops.providers.ts';
import { createHealthRoutes } from '../server/health.routes.ts';
import { sendError } from '../server/server.respond.ts';
import type { Route } from '../server/server.route.ts';
import { startServer, type AppServer } from '../server/server.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * The composition root of the HTTP service: the one place that knows which parts make up
 * `serve`, `run` and `start` (feed, health, the storefront API, and what later issues add), so
 * the server only routes and commands do not import each other.
 */

export interface AppDeps {
  config: Config;
  logger: Logger;
}

/** A part mounted after the server listens (it needs a database that may take seconds to open). */
export interface AppPart {
  routes: readonly Route[];
}

export interface App extends AppServer {
  readonly source: FeedSource;
  readonly pulls: PullRegistry;
  /**
   * The operator surface (status page, /metrics, alerts, /admin): `ops.connect({catalog, state})`
   * once the databases are open, `ops.provide({...})` for the storefront parts' figures,
   * `ops.onPush` as the pusher's `onOutcome`, `ops.metrics.onCall` as the RR client's `onCall`.
   */
  readonly ops: Ops;
  /** Serve `part`'s routes from now on, instead of the 503 that `/v1/*` answers until then. */
  attach(part: AppPart): void;
}

const PENDING_PATH = /^\/v1\/.*$/;

/** Answers `/v1/*` while the storefront part is not attached (still starting, or not in this process). */
function pendingRoutes(message: () => string): Route[] {
  const handle: Route['handle'] = (_req, res) =>
    sendError(res, 503, 'storefront.unavailable', message(), { 'retry-after': '5' });
  return [
    { method: 'GET', path: PENDING_PATH, handle },
    { method: 'POST', path: PENDING_PATH, handle },
  ];
}

/**
 * Listen on `port` (default PORT) with the feed and health routes. A port in use or privileged is
 * a configuration error naming PORT (exit 2): it is checked before any other work starts.
 */
export async function startApp(
  deps: AppDeps,
  options: {
    port?: number;
    host?: string;
    storefront?: 'starting' | 'absent';
    routes?: readonly Route[];
    /** Figures of parts outside this module (events, recommendations, breakers); also later via ops.provide. */
    providers?: OpsProviders;
    /** Test knobs of the operator surface (intervals, clock). */
    ops?: Partial<Omit<Parameters<typeof createOps>[0], 'config' | 'logger' | 'source' | 'pulls'>>;
  } = {},
): Promise<App> {
  const { config, logger } = deps;
  const port = options.port ?? config.port;
  const source = createFeedSource(config.feedsDir);
  const pulls = createPullRegistry();
  let pendingMessage =
    options.storefront === 'absent'
      ? 'The storefront API (events, recommendations) is served by `rr-sync serve` and `rr-sync run`, not by this command.'
      : 'The storefront API is starting (its database is not open yet); retry shortly.';
  const pending = pendingRoutes(() => pendingMessage);
  const ops = createOps({ config, logger, source, pulls, providers: options.providers, ...options.ops });
  const routes: Route[] = [
    ...createFeedRoutes({ config, logger: logger.child({ component: 'http' }), source, pulls }),
    ...createHealthRoutes({ source, pulls, alerts: () => ops.alerts() }),
    ...(options.routes ?? []),
    ...ops.routes,
    ...pending,
  ];
  const server = await startServer(
    { logger, limits: config.http },
    { port, host: options.host, routes },
  ).catch((err: NodeJS.ErrnoException) => {
    if (port !== config.port || (err.code !== 'EADDRINUSE' && err.code !== 'EACCES')) throw err;
    const why = err.code === 'EADDRINUSE' ? 'is already in use' : 'needs privileges this user lacks';
    throw new AppError('config.invalid', `PORT: ${config.port} ${why}; choose another PORT.`, { cause: err });
  });
  ops.start();
  return {
    ...server,
    source,
    pulls,
    ops,
    async close(closeOptions) {
      await ops.close();
      await server.close(closeOptions);
    },
    attach(part) {
      const at = routes.indexOf(pending[0]!);
      if (at === -1) throw new Error('a storefront part is already attached');
      routes.splice(at, pending.length, ...part.routes);
      pendingMessage = '';
    },
  };
}

/** Where Retail Rocket should pull the feed: under FEED_BASE_URL (the service's public URL) when set. */
export function feedUrlFor(config: Config, port: number): string {
  const base = config.feedBaseUrl ?? `http://localhost:${port}/`;
  return new URL('feeds/catalog.xml', base.endsWith('/') ? base : `${base}/`).toString();
}
