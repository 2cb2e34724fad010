import type { Config } from '../config.ts';
import { requireBearer } from '../server/api.auth.ts';
import { HttpError, sendJson } from '../server/server.respond.ts';
import type { Route } from '../server/server.route.ts';
import { RecommendationInputError } from './recommendations.request.ts';
import type { AnswerTiming, RecommendationService } from './recommendations.service.ts';

/**
 * `GET /v1/recommendations/{group}/{algorithm}` on Retail Rocket's v3.0 path and parameter names:
 * `productIds` and `categoryIds` comma-separated, `categoryPaths` repeated (a path may hold a
 * comma), the others once each. The service does the rest; this layer only maps HTTP.
 */

const PATH = /^\/v1\/recommendations\/(?<group>[^/]+)\/(?<algorithm>[^/]+)\/?$/;
const LISTS = new Set(['productIds', 'categoryIds']);
const REPEATED = new Set(['categoryPaths']);

/** Query string → the service's parameters. Throws 400 for a single-valued parameter given twice. */
export function paramsOf(search: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    if (REPEATED.has(key)) out[key] = values;
    else if (values.length > 1) throw invalid(`${key}: must be given once`);
    else if (LISTS.has(key)) out[key] = values[0] === '' ? [] : values[0]!.split(',');
    else out[key] = values[0];
  }
  return out;
}

/**
 * `Server-Timing` (W3C): how long Retail Rocket took (`rr`, 0 when not asked) and the whole answer
 * (`total`), in ms, so the shop can log where its time went; their difference is this service's.
 */
function serverTiming(t: AnswerTiming): string {
  return `rr;dur=${t.upstreamMs.toFixed(1)};desc="Retail Rocket", total;dur=${t.totalMs.toFixed(1)}`;
}

const invalid = (detail: string) =>
  new HttpError(400, 'recommendations.invalid', `Invalid request: ${detail}.`);

export function createRecommendationRoutes(
  service: RecommendationService,
  config: Pick<Config, 'apiToken'>,
  /** Each answer's timing, also sent as its Server-Timing header (e.g. the /metrics histogram). */
  onAnswer?: (timing: AnswerTiming) => void,
): Route[] {
  return [
    {
      method: 'GET',
      path: PATH,
      async handle(req, res, params) {
        requireBearer(req, config.apiToken);
        const url = new URL(req.url ?? '/', 'http://localhost');
        const resource = `${params.group}/${params.algorithm}`;
        try {
          let timing: AnswerTiming | undefined;
          const answer = await service.get(resource, paramsOf(url.searchParams), {
            onTiming: (t) => {
              timing = t;
              onAnswer?.(t);
            },
          });
          sendJson(res, 200, answer, timing ? { 'server-timing': serverTiming(timing) } : {});
        } catch (err) {
          if (err instanceof RecommendationInputError) throw new HttpError(err.status, err.code, err.message);
          throw err;
        }
      },
    },
  ];
}
