import { directIndex, type CatalogIndexReader } from '../catalog-index/catalog-index.cache.ts';
import type { IndexedItem } from '../catalog-index/catalog-index.repository.ts';
import type { Config } from '../config.ts';
import type { Queryable } from '../db/pool.ts';
import type { RetailRocketClient } from '../rr/rr.client.ts';
import type { RrResult } from '../rr/rr.errors.ts';
import type { Recommendations } from '../rr/rr.recommendations.ts';
import type { RecommendationParams, RecommendationResource } from '../rr/rr.schemas.ts';
import { coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import {
  createBreaker,
  DEFAULT_BREAKER,
  type Admission,
  type Breaker,
  type BreakerOptions,
  type BreakerSnapshot,
  type Outcome,
} from '../shared/breaker.ts';
import { within } from './recommendations.deadline.ts';
import { createSelection } from './recommendations.enrich.ts';
import { fallbackCandidates, type PopularProducts } from './recommendations.fallback.ts';
import { parseRequest, type RecommendationRequest } from './recommendations.request.ts';
import {
  FALLBACK_REASONS,
  FAMILIES,
  familyOf,
  type FallbackReason,
  type RecommendationAnswer,
  type RecommendationSource,
  type ResourceFamily,
  type UnknownIds,
} from './recommendations.types.ts';

export interface RecommendationServiceDeps {
  /** The state database (rr_sync.catalog_items: the published-catalog index). */
  state: Queryable;
  /** How the index is read (default: every read a query on `state`; serve/run use cachedIndex). */
  index?: CatalogIndexReader;
  /** null when RR_PARTNER_ID / RR_API_KEY are not set: every answer comes from the fallback. */
  rr: Pick<RetailRocketClient, 'recommendations'> | null;
  config: Pick<Config, 'rr'>;
  logger: Logger;
  /** Most popular products, for resources without a category context (default: none). */
  popular?: PopularProducts;
  /** Monotonic milliseconds (default performance.now); the breakers run on it. */
  clock?: () => number;
}

export interface AnswerTiming {
  source: RecommendationSource;
  /** The whole answer, from the call of get() to its result. */
  totalMs: number;
  /** Spent waiting for Retail Rocket (0 when it was not asked): the rest is this service's own. */
  upstreamMs: number;
}

export interface GetOptions {
  /** Called with this answer's timing just before it resolves (Server-Timing, /metrics). */
  onTiming?: (timing: AnswerTiming) => void;
}

export interface RecommendationServiceOptions {
  breaker?: Partial<BreakerOptions>;
  /**
   * Part of the deadline kept for our own work after the upstream call: checking and enriching
   * its items and the fallback (default 15 % of RR_TIMEOUT_MS, at least 20 and at most 100 ms).
   */
  reserveMs?: number;
}

export type RecommendationInput<R extends RecommendationResource> = RecommendationParams<R> & {
  limit?: number;
};

export interface RecommendationCounts {
  bySource: Record<RecommendationSource, number>;
  byReason: Record<FallbackReason, number>;
}

export interface RecommendationService {
  /**
   * Recommendations for one v3.0 resource, checked against and enriched from the published
   * catalog, within RR_TIMEOUT_MS. Never rejects for an upstream or database failure (the answer
   * then comes from the fallback, possibly empty); rejects with RecommendationInputError for a
   * caller's mistake (unknown resource or parameter, invalid value).
   */
  get<R extends RecommendationResource>(
    resource: R,
    params: RecommendationInput<R>,
    options?: GetOptions,
  ): Promise<RecommendationAnswer>;
  get(
    resource: string,
    params: Readonly<Record<string, unknown>>,
    options?: GetOptions,
  ): Promise<RecommendationAnswer>;
  /** Each family's breaker (for the status page and metrics). */
  breakerStates(): Record<ResourceFamily, BreakerSnapshot>;
  /** Answers given since start, per source and per fallback reason. */
  counts(): RecommendationCounts;
}

/** Resources whose items are the visitor's own history: other products would be a false "you viewed". */
const HISTORY_ONLY = new Set<RecommendationResource>([
  'partnerRecommendations/personalViewed',
  'partnerRecommendations/personalOrdered',
]);
/** At most this many of Retail Rocket's ids are looked up (it sends 10–20). */
const MAX_UPSTREAM_IDS = 200;
/** At most one log line per failing step and kind in this time. */
const LOG_EVERY_MS = 60_000;
/** Time kept for turning the answer into JSON after the last step. */
const FINISH_MS = 2;

interface Checked {
  inputs: Map<string, IndexedItem>;
  /** What may be sent upstream (unknown ids removed), or null when nothing known is left to ask about. */
  upstream: RecommendationRequest['query'] | null;
  unknown?: UnknownIds;
  fallbackCategories: string[];
}

export function createRecommendationService(
  deps: RecommendationServiceDeps,
  options: RecommendationServiceOptions = {},
): RecommendationService {
  const { rr, popular } = deps;
  const index = deps.index ?? directIndex(deps.state);
  const logger = deps.logger.child({ component: 'recommendations' });
  const now = deps.clock ?? (() => performance.now());
  const timeoutMs = deps.config.rr.timeoutMs;
  const reserveMs = options.reserveMs ?? Math.min(100, Math.max(20, Math.round(timeoutMs * 0.15)));
  const breakerOptions = { ...DEFAULT_BREAKER, ...options.breaker };
  const breakers = Object.fromEntries(FAMILIES.map((f) => [f, createBreaker(breakerOptions, now)])) as Record<
    ResourceFamily,
    Breaker
  >;
  const counts: RecommendationCounts = {
    bySource: { retailrocket: 0, cache: 0, fallback: 0 },
    byReason: Object.fromEntries(FALLBACK_REASONS.map((r) => [r, 0])) as Record<FallbackReason, number>,
  };

  function record(family: ResourceFamily, admission: Exclude<Admission, 'reject'>, outcome: Outcome) {
    const breaker = breakers[family];
    const before = breaker.snapshot().state;
    breaker.record(admission, outcome);
    const after = breaker.snapshot().state;
    if (after === before) return;
    if (after === 'open') logger.warn({ family, ...breakerOptions }, 'recommendations breaker opened');
    else if (after === 'closed') logger.info({ family }, 'recommendations breaker closed');
  }

  async function check(q: RecommendationRequest['query']): Promise<Checked> {
    const productIds = (q.productIds ?? []).map(String);
    const categoryIds = (q.categoryIds ?? []).map(String);
    const categoryPaths = q.categoryPaths ?? [];
    const [inputs, categories, stockKnown] = await Promise.all([
      index.findKnownProducts(productIds),
      index.findCategoryTrees(categoryIds, categoryPaths),
      q.stockId === undefined ? true : index.isKnownStock(q.stockId),
    ]);
    const unknown: UnknownIds = {};
    const unknownProducts = productIds.filter((id) => !inputs.has(id));
    const unknownCategories = categoryIds.filter((id) => !categories.knownIds.includes(id));
    const unknownPaths = categoryPaths.filter((p) => !categories.knownPaths.includes(p));
    if (unknownProducts.length) unknown.productIds = unknownProducts;
    if (unknownCategories.length) unknown.categoryIds = unknownCategories;
    if (unknownPaths.length) unknown.categoryPaths = unknownPaths;
    if (!stockKnown) unknown.stockId = q.stockId;
    // Unknown ids are left out of the upstream call (Retail Rocket is never told an id it was not
    // given); when nothing known is left to ask about, there is no call at all.
    const nothingLeft =
      !stockKnown ||
      (q.productIds !== undefined && inputs.size === 0) ||
      (q.categoryIds !== undefined && categories.knownIds.length === 0) ||
      (q.categoryPaths !== undefined && categories.knownPaths.length === 0);
    const upstream: RecommendationRequest['query'] = { ...q };
    if (q.productIds) upstream.productIds = productIds.filter((id) => inputs.has(id)).map(Number);
    if (q.categoryIds) upstream.categoryIds = categories.knownIds.map(Number);
    if (q.categoryPaths) upstream.categoryPaths = categories.knownPaths;
    const inputCategories = [...inputs.values()].flatMap((i) => i.categoryIds);
    return {
      inputs,
      upstream: nothingLeft ? null : upstream,
      ...(Object.keys(unknown).length ? { unknown } : {}),
      fallbackCategories: [...new Set([...inputCategories, ...categories.withDescendants])],
    };
  }

  async function answer(
    req: RecommendationRequest,
    deadlineAt: number,
    timing: { upstreamMs: number },
  ): Promise<RecommendationAnswer> {
    const left = () => deadlineAt - now();
    const q = req.query;
    const family = familyOf(req.resource);

    const checked = await within(check(q), left() - reserveMs);
    if (!checked.ok) {
      logFailure('index check', checked);
      return { source: 'fallback', reason: 'index_unavailable', items: [] };
    }
    const { inputs, upstream, unknown, fallbackCategories } = checked.value;
    const excludeIds = [...inputs.keys()];
    const excludeGroups = [...inputs.values()].flatMap((i) => (i.groupId === null ? [] : [i.groupId]));

    // The fallback starts as soon as it is known to be needed, or when Retail Rocket has used half
    // its budget (so a stalled upstream leaves the fallback queries most of the reserve and more).
    // No item can be available in a stock the catalog does not have: then there is nothing to ask.
    let fallback: Promise<IndexedItem[]> | undefined;
    const startFallback = () => {
      if (HISTORY_ONLY.has(req.resource) || unknown?.stockId !== undefined) return;
      const ctx = {
        categoryIds: fallbackCategories,
        stockId: q.stockId,
        excludeIds,
        excludeGroups,
        limit: req.limit,
      };
      fallback ??= fallbackCandidates(index, ctx, popular);
      // Handled here too: when Retail Rocket answers in full after all, nobody awaits it.
      fallback.catch(() => undefined);
    };

    let source: Exclude<RecommendationSource, 'fallback'> | undefined;
    let reason: FallbackReason | undefined;
    let upstreamIds: number[] = [];
    if (upstream === null) reason = 'unknown_ids';
    else if (rr === null) reason = 'no_credentials';
    else {
      const budget = Math.floor(left() - reserveMs);
      // Our own check used the time the call would have had: not Retail Rocket's failure.
      const admission = budget > 0 ? breakers[family].admit() : 'reject';
      if (budget <= 0) reason = 'upstream_timeout';
      else if (admission === 'reject') reason = 'circuit_open';
      else {
        const hedge = setTimeout(startFallback, budget / 2);
        const call = rr.recommendations.get(req.resource, upstream as never, { timeoutMs: budget });
        // The client keeps to its own deadline; the race makes sure a late answer is dropped.
        const calledAt = now();
        const r = await within(call, budget + 1);
        timing.upstreamMs = now() - calledAt;
        clearTimeout(hedge);
        const verdict = judge(r);
        // A call that timed out with less than half its usual time (our own steps ran long, e.g.
        // a cold index under a burst) says little about Retail Rocket: the breaker is not told.
        const shortChanged = budget < (timeoutMs - reserveMs) / 2 && verdict.reason === 'upstream_timeout';
        record(family, admission, shortChanged ? 'none' : verdict.outcome);
        if (verdict.value) {
          source = verdict.value.cached ? 'cache' : 'retailrocket';
          upstreamIds = verdict.value.productIds;
        } else {
          reason = verdict.reason;
        }
      }
    }

    const selection = createSelection({ stockId: q.stockId, limit: req.limit, excludeIds, excludeGroups });
    if (source !== undefined) {
      const ids = [...new Set(upstreamIds.map(String))].slice(0, MAX_UPSTREAM_IDS);
      const known = await within(index.findKnownProducts(ids), left() - reserveMs / 2);
      if (known.ok) {
        selection.add(ids.map((id) => known.value.get(id)));
        if (selection.room === req.limit) reason = 'too_few';
      } else {
        logFailure('enrich', known);
        reason = 'index_unavailable';
      }
      if (reason !== undefined) source = undefined;
    }
    const fromUpstream = selection.takenIds().length;

    if (!selection.full) startFallback();
    if (fallback && !selection.full) {
      const filled = await within(fallback, left() - FINISH_MS);
      if (filled.ok) selection.add(filled.value);
      else logFailure('fallback', filled);
    }
    const items = selection.items();
    const extra = items.length - fromUpstream;
    return {
      source: source ?? 'fallback',
      items,
      ...(source === undefined ? { reason } : extra > 0 ? { fallbackItems: extra } : {}),
      ...(unknown ? { unknown } : {}),
    };
  }

  // Under load every answer can hit the same wall: one line per step and kind a minute, with how
  // many it stands for, instead of a line per request flooding the log.
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  function logFailure(step: string, r: { ok: false; timedOut: boolean; error?: unknown }) {
    const key = `${step}:${r.timedOut ? 'timeout' : 'error'}`;
    const seen = lastLogged.get(key);
    const t = now();
    if (seen && t - seen.at < LOG_EVERY_MS) return void (seen.suppressed += 1);
    const since = seen ? { sinceLastLine: seen.suppressed } : {};
    lastLogged.set(key, { at: t, suppressed: 0 });
    if (r.timedOut) logger.warn({ step, ...since }, 'recommendations step ran out of time');
    else logger.warn({ step, err: coerceError(r.error).message, ...since }, 'recommendations step failed');
  }

  async function get(
    resource: string,
    params: Readonly<Record<string, unknown>>,
    options: GetOptions = {},
  ): Promise<RecommendationAnswer> {
    const started = now();
    const req = parseRequest(resource, params);
    const timing = { upstreamMs: 0 };
    const result = await answer(req, started + timeoutMs, timing);
    options.onTiming?.({ source: result.source, totalMs: now() - started, upstreamMs: timing.upstreamMs });
    counts.bySource[result.source] += 1;
    if (result.reason) counts.byReason[result.reason] += 1;
    return result;
  }

  return {
    get: get as RecommendationService['get'],
    breakerStates: () =>
      Object.fromEntries(FAMILIES.map((f) => [f, breakers[f].snapshot()])) as Record<
        ResourceFamily,
        BreakerSnapshot
      >,
    counts: () => ({ bySource: { ...counts.bySource }, byReason: { ...counts.byReason } }),
  };
}

/** What an upstream result means for the answer and for the breaker. */
function judge(r: Awaited<ReturnType<typeof within<RrResult<Recommendations>>>>): {
  outcome: Outcome;
  value?: Recommendations;
  reason?: FallbackReason;
} {
  if (!r.ok) return { outcome: 'failure', reason: r.timedOut ? 'upstream_timeout' : 'upstream_error' };
  const res = r.value;
  // A cached answer says nothing about Retail Rocket's health.
  if (res.ok) return { outcome: res.value.cached ? 'none' : 'success', value: res.value };
  const { kind } = res.error;
  if (kind === 'timeout') return { outcome: 'failure', reason: 'upstream_timeout' };
  // Our own rate limiter or a closing client: not Retail Rocket failing.
  if (kind === 'rate_limited' || kind === 'closed') return { outcome: 'none', reason: 'upstream_error' };
  return { outcome: 'failure', reason: 'upstream_error' };
}
