export { createRetailRocketClient } from './rr.client.ts';
export type { RetailRocketClient, RetailRocketClientConfig, RetailRocketClientDeps } from './rr.client.ts';
export {
  backoffDelay,
  createRedactor,
  isRetryableStatus,
  parseRetryAfter,
  redact,
  withRetry,
} from './rr.errors.ts';
export type { Redactor, RetryOptions, RrError, RrErrorKind, RrResult } from './rr.errors.ts';
export type { CallInfo, CallOptions } from './rr.core.ts';
export type { BatchFailure, BatchOptions, BatchReport, MixedBatchOptions } from './rr.batch.ts';
export type { Recommendations, RecommendationsApi } from './rr.recommendations.ts';
export type { ItemsQuery, ProductsApi, UpsertOptions } from './rr.products.ts';
export type { TrackingApi } from './rr.tracking.ts';
export type { Priority, RateLimiter, RateLimiterOptions } from './rr.limiter.ts';
export { createRateLimiter } from './rr.limiter.ts';
export {
  BATCH_EVENT_TYPES,
  EVENT_SCHEMAS,
  EVENT_TYPES,
  MAX_ID,
  PERSONAL_RECOMMENDATION_RESOURCES,
  RECOMMENDATION_RESOURCES,
  rrId,
  sessionId,
  stockId,
} from './rr.schemas.ts';
export type {
  BatchEvent,
  BatchEventType,
  EventBody,
  EventInput,
  EventType,
  ProductGroupInput,
  ProductInput,
  RecommendationParams,
  RecommendationResource,
  RrItem,
} from './rr.schemas.ts';
