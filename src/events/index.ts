/** The events half of the storefront API (issue 8), for the composition root and library use. */
export { createEventRoutes } from './events.routes.ts';
export { createEventService, type EventServiceDeps } from './events.service.ts';
export {
  createEventSender,
  createEventSenderIfConfigured,
  type EventSenderOptions,
} from './events.sender.ts';
export { eventCounts, popularProducts, spoolStats } from './events.repository.ts';
export type { EventCount, SpoolStats } from './events.repository.ts';
export { EVENT_LIMITS } from './events.contracts.ts';
export type {
  AcceptBatchResult,
  AcceptResult,
  EventError,
  EventErrorCode,
  EventIssue,
  EventSender,
  EventSenderDeps,
  EventService,
  RecheckReport,
  SendReport,
} from './events.contracts.ts';
