export { createRecommendationService } from './recommendations.service.ts';
export type {
  AnswerTiming,
  RecommendationCounts,
  RecommendationInput,
  RecommendationService,
  RecommendationServiceDeps,
  RecommendationServiceOptions,
} from './recommendations.service.ts';
export { createRecommendationRoutes } from './recommendations.routes.ts';
export { RecommendationInputError, DEFAULT_LIMIT, MAX_LIMIT } from './recommendations.request.ts';
export { popularEvery } from './recommendations.fallback.ts';
export type { PopularProducts, PopularCacheOptions } from './recommendations.fallback.ts';
export type { BreakerOptions, BreakerSnapshot, BreakerState } from '../shared/breaker.ts';
export { FAMILIES, FALLBACK_REASONS } from './recommendations.types.ts';
export type {
  FallbackReason,
  RecommendationAnswer,
  RecommendationSource,
  RecommendedItem,
  ResourceFamily,
  UnknownIds,
} from './recommendations.types.ts';
