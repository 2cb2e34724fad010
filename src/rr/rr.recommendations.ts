import type { RrResult } from './rr.errors.ts';
import type { HttpResponse } from './rr.http.ts';
import { check, invalid, query, type CallOptions, type RrCore } from './rr.core.ts';
import {
  describeIssues,
  PERSONAL_RECOMMENDATION_RESOURCES,
  RECOMMENDATION_PARAMS,
  RECOMMENDATION_RESOURCES,
  RecommendationsResponse,
  type RecommendationParams,
  type RecommendationQuery,
  type RecommendationResource,
} from './rr.schemas.ts';

export interface Recommendations {
  /** Recommended product ids in Retail Rocket's order (scalar and array forms flattened). */
  productIds: number[];
  /** The Cache-Control header Retail Rocket sent (§1.10). */
  cacheControl?: string;
  /** True when served from the client's in-memory cache without a call. */
  cached: boolean;
}

export interface RecommendationsApi {
  /**
   * GET `{RR_RECOMMENDATIONS_URL}<resource>/?partnerId=..&apiKey=..&sessionExternalId=..`.
   * The parameters required depend on the resource (productIds, categoryIds, categoryPaths,
   * searchPhrase or vendor); list params go comma-separated, categoryPaths repeated.
   */
  get<R extends RecommendationResource>(
    resource: R,
    params: RecommendationParams<R>,
    opts?: CallOptions,
  ): Promise<RrResult<Recommendations>>;
}

interface CacheEntry {
  expiresAt: number;
  value: Recommendations;
}

/** Answers are cached when Cache-Control allows it (max-age > 0, not private/no-store/no-cache). */
function cacheTtlMs(cacheControl: string | undefined): number {
  if (!cacheControl) return 0;
  const cc = cacheControl.toLowerCase();
  if (/\b(no-store|no-cache|private)\b/.test(cc)) return 0;
  const m = /\bmax-age=(\d+)/.exec(cc);
  return m ? Number(m[1]) * 1000 : 0;
}

export function createRecommendationsApi(
  core: RrCore,
  opts: { cacheEntries?: number; maxAgeSeconds?: number } = {},
): RecommendationsApi {
  const maxEntries = opts.cacheEntries ?? 1000;
  // RR_RECS_CACHE: Retail Rocket allows an hour for most algorithms, too long to see a demo order.
  const maxTtlMs = opts.maxAgeSeconds === undefined ? Infinity : opts.maxAgeSeconds * 1000;
  const cache = new Map<string, CacheEntry>();

  function fromCache(key: string): Recommendations | undefined {
    const hit = cache.get(key);
    if (!hit) return undefined;
    cache.delete(key);
    if (hit.expiresAt <= Date.now()) return undefined;
    cache.set(key, hit); // most recently used goes last
    return { ...hit.value, productIds: [...hit.value.productIds], cached: true };
  }

  function remember(key: string, value: Recommendations) {
    const ttl = Math.min(cacheTtlMs(value.cacheControl), maxTtlMs);
    if (maxEntries <= 0 || ttl <= 0) return;
    cache.delete(key);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(key, { expiresAt: Date.now() + ttl, value: { ...value, productIds: [...value.productIds] } });
  }

  function parse(res: HttpResponse): RrResult<Recommendations> {
    const parsed = RecommendationsResponse.safeParse(res.body);
    if (!parsed.success) return invalid(`unexpected recommendations answer: ${describeIssues(parsed.error)}`);
    const cc = res.headers['cache-control'];
    return {
      ok: true,
      status: res.status,
      value: { productIds: parsed.data, cacheControl: Array.isArray(cc) ? cc.join(', ') : cc, cached: false },
    };
  }

  return {
    async get(resource, params, callOpts = {}) {
      if (!Object.hasOwn(RECOMMENDATION_RESOURCES, resource)) {
        return invalid(`unknown recommendation resource ${JSON.stringify(resource)}`);
      }
      const kind = RECOMMENDATION_RESOURCES[resource];
      const checked = check(RECOMMENDATION_PARAMS[kind], params, `${resource} request`);
      if (!checked.ok) return checked;
      const q = checked.value as RecommendationQuery;
      const url = `${core.urls.recommendations}${resource}/?${recommendationQuery(core, q)}`;
      // Personal answers are never cached (one visitor's history must not reach another); the
      // others do not depend on the visitor, so one entry serves every visitor: the key is the
      // URL without the visitor's id (it is still sent, for Retail Rocket's statistics).
      const key = PERSONAL_RECOMMENDATION_RESOURCES.has(resource)
        ? undefined
        : `${resource}/?${recommendationQuery(core, { ...q, sessionExternalId: undefined, session: undefined })}`;
      const hit = key === undefined ? undefined : fromCache(key);
      if (hit) return { ok: true, status: 200, value: hit };
      const result = await core.call({
        op: `recs.${resource}`,
        method: 'GET',
        url,
        priority: callOpts.priority ?? 'interactive',
        timeoutMs: callOpts.timeoutMs ?? core.timeoutMs,
        queueTimeoutMs: callOpts.queueTimeoutMs,
        parse,
      });
      if (result.ok && key !== undefined) remember(key, result.value);
      return result;
    },
  };
}

function recommendationQuery(core: RrCore, p: RecommendationQuery): string {
  const q = p as Partial<{
    productIds: number[];
    categoryIds: number[];
    categoryPaths: string[];
    searchPhrase: string;
    vendor: string;
  }> &
    RecommendationQuery;
  return query([
    ['partnerId', core.partnerId],
    ['apiKey', core.apiKey],
    ['sessionExternalId', q.sessionExternalId],
    ['session', q.session],
    ['stockId', q.stockId],
    ['productIds', q.productIds],
    ['categoryIds', q.categoryIds],
    ['searchPhrase', q.searchPhrase],
    ['vendor', q.vendor],
    // Documented as a repeated parameter (§5.1): one pair per path.
    ...(q.categoryPaths ?? []).map((path) => ['categoryPaths', path] as const),
  ]);
}
