/**
 * The package's entry for Node back ends that call the service's logic in-process (issue 8 "library
 * use"): the storefront (events with validation, spool and sender; recommendations with the
 * deadline, breakers and fallback), the Retail Rocket client, and what they need to be built.
 * The code is TypeScript run through tsx (no build step), so a program importing it runs under tsx
 * too (`node --import tsx`).
 */
export { loadConfig, type Config } from './config.ts';
export { createLogger, silentLogger, type Logger } from './shared/logger.ts';
export { connect as connectDatabase } from './db/pool.ts';
export { migrate } from './db/migrate.ts';
export {
  createServiceClient,
  createStorefront,
  type Storefront,
  type StorefrontDeps,
} from './app/storefront.ts';
export type { AcceptBatchResult, AcceptResult, EventError, EventService } from './events/index.ts';
export {
  RecommendationInputError,
  type RecommendationAnswer,
  type RecommendationService,
  type RecommendedItem,
} from './recommendations/index.ts';
export { createRetailRocketClient, type RetailRocketClient } from './rr/index.ts';
