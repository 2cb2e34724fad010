import type { PullRegistry } from './feed.pulls.ts';
import type { FeedSource } from './feed.source.ts';
import { sendJson } from './server.respond.ts';
import type { Route } from './server.ts';

export interface HealthRouteDeps {
  source: FeedSource;
  pulls: PullRegistry;
}

/** `GET /healthz`: the published feed (null before the first publish) and the last pulls. */
export function createHealthRoutes(deps: HealthRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      async handle(_req, res) {
        const current = await deps.source.current();
        const feed = current && {
          version: current.manifest.version,
          offers: current.manifest.offers,
          publishedAt: current.manifest.publishedAt,
          ageSeconds: Math.max(0, Math.floor((Date.now() - Date.parse(current.manifest.publishedAt)) / 1000)),
        };
        sendJson(res, 200, { status: 'ok', feed, lastPulls: deps.pulls.list() });
      },
    },
  ];
}
