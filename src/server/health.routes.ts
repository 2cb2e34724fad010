import type { PullRegistry } from './feed.pulls.ts';
import type { FeedSource } from './feed.source.ts';
import { sendJson } from './server.respond.ts';
import type { Route } from './server.route.ts';

export interface HealthRouteDeps {
  source: FeedSource;
  pulls: PullRegistry;
  /** The freshness alerts broken now (src/ops); any makes /healthz answer 503 `alert`. */
  alerts?: () => Promise<readonly { rule: string; message: string }[]>;
}

const NO_FEED =
  'No feed has been published: Retail Rocket has nothing to pull. Run `rr-sync feed` (or `npm start`).';

/**
 * `GET /healthz`: the published feed and the last pulls. Without a published feed the service
 * is of no use to Retail Rocket, so it answers 503 `no_feed` and a load balancer or monitor
 * sees it as down; a broken freshness alert answers 503 `alert` with the reasons.
 */
export function createHealthRoutes(deps: HealthRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      async handle(_req, res) {
        const current = await deps.source.current();
        if (!current)
          return sendJson(res, 503, {
            status: 'no_feed',
            message: NO_FEED,
            feed: null,
            lastPulls: deps.pulls.list(),
          });
        const feed = {
          version: current.manifest.version,
          offers: current.manifest.offers,
          publishedAt: current.manifest.publishedAt,
          ageSeconds: Math.max(0, Math.floor((Date.now() - Date.parse(current.manifest.publishedAt)) / 1000)),
        };
        // An uptime monitor sees a broken freshness rule as down, with the reasons.
        const alerts = (await deps.alerts?.()) ?? [];
        if (alerts.length > 0)
          return sendJson(res, 503, {
            status: 'alert',
            message: alerts.map((a) => `${a.rule}: ${a.message}`).join('; '),
            alerts,
            feed,
            lastPulls: deps.pulls.list(),
          });
        sendJson(res, 200, { status: 'ok', feed, lastPulls: deps.pulls.list() });
      },
    },
  ];
}
