import { sameSecret } from '../server/api.auth.ts';
import { HttpError } from '../server/server.respond.ts';
import type { Route } from '../server/server.route.ts';
import type { OpsContext } from './ops.ts';

/** `GET /metrics`: Prometheus text format; with METRICS_TOKEN set, only for `Authorization: Bearer <it>`. */
export function createMetricsRoutes(ctx: OpsContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/metrics',
      async handle(req, res) {
        const token = ctx.config.metricsToken;
        if (token !== undefined) {
          const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
          if (!m || !sameSecret(m[1]!, token))
            throw new HttpError(
              401,
              'auth.required',
              'This route needs Authorization: Bearer <METRICS_TOKEN>.',
              {
                'www-authenticate': 'Bearer realm="rr-catalog-sync metrics"',
              },
            );
        }
        // A database that does not answer must not cost the scrape its other figures.
        await Promise.all([ctx.snapshot().catch(() => undefined), ctx.ingestRuns().catch(() => undefined)]);
        const body = Buffer.from(await ctx.metrics.render(), 'utf8');
        res.writeHead(200, {
          'content-type': ctx.metrics.contentType,
          'content-length': String(body.length),
          'cache-control': 'no-store',
        });
        res.end(body);
      },
    },
  ];
}
