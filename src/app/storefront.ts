import type pg from 'pg';
import type { Config } from '../config.ts';
import {
  createEventRoutes,
  createEventSenderIfConfigured,
  createEventService,
  eventCounts,
  popularProducts,
  spoolStats,
  type EventSender,
  type EventSenderOptions,
  type EventService,
} from '../events/index.ts';
import { cachedIndex, directIndex, type IndexCacheOptions } from '../catalog-index/catalog-index.cache.ts';
import { warmIndexConnections } from '../catalog-index/catalog-index.warm.ts';
import { clientLike, watchIndex, type IndexWatchOptions } from '../catalog-index/catalog-index.watch.ts';
import type { OpsProviders } from '../ops/ops.providers.ts';
import {
  createRecommendationRoutes,
  createRecommendationService,
  popularEvery,
  type AnswerTiming,
  type RecommendationService,
} from '../recommendations/index.ts';
import {
  createRetailRocketClient,
  type RetailRocketClient,
  type RetailRocketClientDeps,
} from '../rr/index.ts';
import type { Route } from '../server/server.route.ts';
import { KEPT_CONNECTIONS } from '../db/pool.ts';
import { coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { App } from './app.ts';

/**
 * The storefront API of one process (issue 8): events (validated, spooled with group commit, sent
 * by this process's sender) and recommendations (checked and enriched by the published-catalog
 * index, with breakers and a fallback), sharing one Retail Rocket client, hence one RR_RATE_LIMIT.
 * `serve`, `run` and library users assemble the same thing.
 */
export interface Storefront {
  readonly events: EventService;
  readonly recommendations: RecommendationService;
  /** null without RR credentials: events are spooled, not sent. */
  readonly sender: EventSender | null;
  readonly routes: readonly Route[];
  /** What the status page and /metrics read of it. */
  readonly providers: OpsProviders;
  /** Start sending spooled events (continuously, until stop). */
  start(): void;
  /** Stop accepting and claiming; let calls in flight finish within timeoutMs; release leases. Idempotent. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
}

export interface StorefrontDeps {
  state: pg.Pool;
  /** null when RR_PARTNER_ID / RR_API_KEY are unset: events wait in the spool, recommendations fall back. */
  rr: RetailRocketClient | null;
  config: Config;
  logger: Logger;
  /** Spool lease owner (default hostname:pid:random). */
  owner?: string;
  /** Tuning of the event sender (defaults suit production; tests set when parked events are re-checked). */
  senderOptions?: EventSenderOptions;
  /**
   * Recommendations read the published-catalog index through an in-memory cache that a LISTEN
   * connection drops on every committed index change (default on; false: every read a query).
   */
  indexCache?: false | (IndexCacheOptions & { watch?: IndexWatchOptions });
  /** Each recommendation answer's timing (startStorefront: the /metrics overhead histogram). */
  onRecommendation?: (timing: AnswerTiming) => void;
}

export function createStorefront(deps: StorefrontDeps): Storefront {
  const { state, rr, config, logger } = deps;
  const sender = createEventSenderIfConfigured(
    { state, rr, config, logger, owner: deps.owner },
    deps.senderOptions,
  );
  const events = createEventService({ state, config, logger, sender: sender ?? undefined });
  const clock = () => performance.now();
  const cacheOptions = deps.indexCache ?? {};
  const watch = cacheOptions === false ? null : watchIndex(clientLike(state), logger, cacheOptions.watch);
  const index = watch && cacheOptions ? cachedIndex(state, watch, cacheOptions) : directIndex(state);
  const recommendations = createRecommendationService({
    state,
    index,
    rr,
    config,
    logger,
    clock,
    popular: popularEvery((limit, exclude) => popularProducts(state, limit, exclude)),
  });
  let stopping: Promise<void> | undefined;
  const providers: OpsProviders = {
    async events() {
      const [counts, spool] = await Promise.all([eventCounts(state), spoolStats(state)]);
      const totals: Record<string, number> = {};
      for (const c of counts) totals[c.result] = (totals[c.result] ?? 0) + c.count;
      return {
        totals,
        pending: spool.pending + spool.parked,
        oldestPendingSeconds: spool.oldestPendingSeconds,
      };
    },
    recommendations: () => ({ bySource: recommendations.counts().bySource }),
    breakers: () =>
      [
        ...Object.entries(recommendations.breakerStates()).map(
          ([name, b]) => [`recommendations/${name}`, b] as const,
        ),
        ...(sender ? [['events/sender', sender.breaker()] as const] : []),
      ].map(([name, b]) => ({
        name,
        state: b.state,
        ...(b.state !== 'closed' && b.openedAt !== undefined
          ? { openSince: new Date(Date.now() - (clock() - b.openedAt)).toISOString() }
          : {}),
      })),
  };
  return {
    events,
    recommendations,
    sender,
    routes: [
      ...createEventRoutes(events, config),
      ...createRecommendationRoutes(recommendations, config, deps.onRecommendation),
    ],
    providers,
    start: () => sender?.start(),
    stop({ timeoutMs = 10_000 } = {}) {
      stopping ??= (async () => {
        await events.close();
        await sender?.stop({ timeoutMs });
        await watch?.close();
      })();
      return stopping;
    },
  };
}

/**
 * The one Retail Rocket client of a service process (pusher, event sender and recommendations
 * share its RR_RATE_LIMIT), or null when no credentials are configured at all: the feed alone is a
 * valid way to run (changes and events then wait in PostgreSQL). Half a pair is a mistake and
 * stops the start (config.invalid, exit 2).
 */
export function createServiceClient(
  config: Config,
  logger: Logger,
  onCall?: RetailRocketClientDeps['onCall'],
): RetailRocketClient | null {
  if (!config.rr.partnerId && !config.rr.apiKey) {
    logger.warn(
      {},
      'RR_PARTNER_ID and RR_API_KEY are not set: changes and events wait in PostgreSQL; recommendations come from the catalog',
    );
    return null;
  }
  return createRetailRocketClient(config.rr, { logger, onCall });
}

/**
 * Mount the storefront API on a listening app once its databases are open: the status page and
 * /metrics read the state database and the storefront's figures from then on; the event sender
 * starts.
 */
export function startStorefront(app: App, deps: StorefrontDeps & { catalog: pg.Pool }): Storefront {
  app.ops.connect({ catalog: deps.catalog, state: deps.state });
  const storefront = createStorefront({
    onRecommendation: (t) => app.ops.metrics.onRecommendation(t),
    ...deps,
  });
  app.attach({ routes: storefront.routes });
  app.ops.provide(storefront.providers);
  storefront.start();
  // In the background: requests meanwhile open connections of their own, as before.
  warmIndexConnections(deps.state, KEPT_CONNECTIONS).catch((err: unknown) =>
    deps.logger.warn({ err: coerceError(err).message }, 'could not warm the index connections'),
  );
  return storefront;
}
