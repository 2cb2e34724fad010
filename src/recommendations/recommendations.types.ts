import type { RecommendationResource } from '../rr/rr.schemas.ts';

/** Where an answer's items came from (the contract: every answer says it). */
export type RecommendationSource = 'retailrocket' | 'cache' | 'fallback';

/** Why an answer came from the fallback. */
export type FallbackReason =
  /** Retail Rocket did not answer within the deadline (its late answer is dropped). */
  | 'upstream_timeout'
  /** Retail Rocket answered with an error (5xx, 429, 4xx), an unreadable body, or was unreachable. */
  | 'upstream_error'
  /** The resource family's circuit breaker is open: Retail Rocket was not called. */
  | 'circuit_open'
  /** The request's product/category ids or stock are unknown to the published catalog. */
  | 'unknown_ids'
  /** Retail Rocket answered, but none of its items is known and available (after filtering). */
  | 'too_few'
  /** No RR_PARTNER_ID / RR_API_KEY: the service runs without Retail Rocket. */
  | 'no_credentials'
  /** The published-catalog index could not be read in time: nothing can be checked or offered. */
  | 'index_unavailable';

export const FALLBACK_REASONS: readonly FallbackReason[] = [
  'upstream_timeout',
  'upstream_error',
  'circuit_open',
  'unknown_ids',
  'too_few',
  'no_credentials',
  'index_unavailable',
];

/** One item as a shop renders it: display data of the requested stock where it has its own. */
export interface RecommendedItem {
  id: number;
  name: string;
  url: string;
  pictureUrl: string;
  price: number;
  oldPrice?: number;
  groupId?: number;
}

/** Ids of the request that the published catalog does not know (they were not sent upstream). */
export interface UnknownIds {
  productIds?: string[];
  categoryIds?: string[];
  categoryPaths?: string[];
  stockId?: string;
}

export interface RecommendationAnswer {
  source: RecommendationSource;
  /** In the order to show, at most `limit`. */
  items: RecommendedItem[];
  /** Only when source is "fallback". */
  reason?: FallbackReason;
  /** How many items at the end of a Retail Rocket (or cached) answer the fallback added. */
  fallbackItems?: number;
  unknown?: UnknownIds;
}

/** The resource families a breaker is kept for (the first path segment). */
export const FAMILIES = [
  'partnerRecommendations',
  'categoryRecommendations',
  'productRecommendations',
  'searchRecommendations',
] as const;
export type ResourceFamily = (typeof FAMILIES)[number];

export const familyOf = (resource: RecommendationResource): ResourceFamily =>
  resource.slice(0, resource.indexOf('/')) as ResourceFamily;
