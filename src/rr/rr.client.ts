import type { Dispatcher } from 'undici';
import type { Config } from '../config.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import {
  createBatchSender,
  createMixedBatchSender,
  type BatchOptions,
  type BatchReport,
  type MixedBatchOptions,
} from './rr.batch.ts';
import { createCore, type CallInfo } from './rr.core.ts';
import { createRedactingLogger, createRedactor, type Redactor, type RrResult } from './rr.errors.ts';
import { createHttpTransport, type HttpOptions } from './rr.http.ts';
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from './rr.limiter.ts';
import { createProductsApi, type ProductsApi } from './rr.products.ts';
import { createRecommendationsApi, type RecommendationsApi } from './rr.recommendations.ts';
import type { BatchEvent } from './rr.schemas.ts';
import { createTrackingApi, type TrackingApi } from './rr.tracking.ts';

/** Config['rr'] plus tuning knobs that have no environment variable (defaults suit production). */
export type RetailRocketClientConfig = Config['rr'] & {
  /** Deadline of one visitorEvents call (default 10 s: batches are slow by design, §1.2). */
  batchTimeoutMs?: number;
  /** How long a bulk call may wait for a rate-limit slot (default 10 s). */
  bulkQueueTimeoutMs?: number;
  /** In-memory cache of recommendation answers honouring Cache-Control (default 1000 URLs; 0 = off). */
  recommendationCacheEntries?: number;
  http?: Omit<HttpOptions, 'caFile' | 'dispatcher'>;
  limiter?: Omit<RateLimiterOptions, 'ratePerSecond'>;
};

export interface RetailRocketClientDeps {
  logger: Logger;
  /** Replaces the per-origin HTTP/2 agents (MockAgent in narrow unit tests). */
  dispatcher?: Dispatcher;
  /**
   * A limiter shared with another client of the same partner (RR_RATE_LIMIT is per partner).
   * Default: the client creates its own; a shared one is not closed by close().
   */
  limiter?: RateLimiter;
  /** Called once per finished call (also failures), e.g. to feed Prometheus histograms. */
  onCall?: (info: CallInfo) => void;
}

export interface RetailRocketClient {
  readonly partnerId: string;
  /** Single tracking events (§4.2–§4.5), one typed method per resource. */
  readonly events: TrackingApi;
  /** The visitorEvents batch (§4.6): per-visitor order kept, chunks of ≤ 100, retried whole. */
  sendBatch(events: readonly BatchEvent[], opts?: BatchOptions): Promise<BatchReport>;
  /**
   * One visitorEvents call with several visitors' events mixed (§4.6), ≤ 100, no retry: the caller
   * keeps one call in flight per visitor. What the event sender uses to stay under the tracking
   * limit (100 requests/s) at thousands of events per second.
   */
  sendVisitorEvents(events: readonly BatchEvent[], opts?: MixedBatchOptions): Promise<RrResult<void>>;
  /** Recommendations API v3.0 (§5.1). */
  readonly recommendations: RecommendationsApi;
  /** Product API upserts and the items lookup (§3.2, §3.3). */
  readonly products: ProductsApi;
  /** The redact() every log line and error of this client went through; use it for your own. */
  readonly redact: Redactor;
  /** 'h2' once an origin's TLS handshake chose HTTP/2, 'http/1.1' for plain or h1-only origins. */
  protocolOf(url: string): 'h2' | 'http/1.1' | 'unknown';
  limiterStats(): ReturnType<RateLimiter['stats']>;
  /** Fails queued calls with `closed`, lets requests in flight finish, closes the connections. */
  close(): Promise<void>;
}

/**
 * The one way the service talks to Retail Rocket. Every method validates its input, waits for a
 * rate-limit slot (interactive before bulk), calls with a deadline, and resolves to an RrResult;
 * none throws for an upstream failure. Throws `config.invalid` at creation when RR_PARTNER_ID or
 * RR_API_KEY is missing.
 */
export function createRetailRocketClient(
  config: RetailRocketClientConfig,
  deps: RetailRocketClientDeps,
): RetailRocketClient {
  const missing = [...(config.partnerId ? [] : ['RR_PARTNER_ID']), ...(config.apiKey ? [] : ['RR_API_KEY'])];
  if (missing.length > 0) {
    throw new AppError('config.invalid', `Retail Rocket client needs ${missing.join(' and ')}`, {
      details: { variables: missing },
    });
  }
  const partnerId = config.partnerId!;
  const apiKey = config.apiKey!;
  const redact = createRedactor([apiKey]);
  const logger = createRedactingLogger(deps.logger.child({ component: 'rr' }), redact);
  const transport = createHttpTransport(
    { ...config.http, caFile: config.caFile, dispatcher: deps.dispatcher },
    logger,
    redact,
  );
  const limiter = deps.limiter ?? createRateLimiter({ ...config.limiter, ratePerSecond: config.rateLimit });
  const core = createCore({
    partnerId,
    apiKey,
    urls: {
      tracking: config.trackingUrl,
      recommendations: config.recommendationsUrl,
      productApi: config.productApiUrl,
    },
    timeoutMs: config.timeoutMs,
    batchTimeoutMs: config.batchTimeoutMs ?? 10_000,
    bulkQueueTimeoutMs: config.bulkQueueTimeoutMs ?? 10_000,
    logger,
    redact,
    transport,
    limiter,
    onCall: deps.onCall,
  });
  const sendBatch = createBatchSender(core);
  const sendMixed = createMixedBatchSender(core);

  return {
    partnerId,
    events: createTrackingApi(core),
    sendBatch: (events, opts) => sendBatch(events, opts),
    sendVisitorEvents: (events, opts) => sendMixed(events, opts),
    recommendations: createRecommendationsApi(core, {
      cacheEntries: config.recommendationCacheEntries,
      maxAgeSeconds: config.recsCacheMaxAgeSeconds,
    }),
    products: createProductsApi(core),
    redact,
    protocolOf: (url) => transport.protocolOf(url),
    limiterStats: () => limiter.stats(),
    async close() {
      if (!deps.limiter) limiter.close();
      await transport.close();
    },
  };
}
