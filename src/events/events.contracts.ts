import type pg from 'pg';
import type { Config } from '../config.ts';
import type { EventType, RetailRocketClient } from '../rr/index.ts';
import type { Logger } from '../shared/logger.ts';
import type { BreakerSnapshot } from '../shared/breaker.ts';

/**
 * The names the event routes, the in-process service, the spool and the sender agree on. Tables
 * are in migrations/0004_events.sql.
 */

/** Limits of the events API (documented in the README). */
export const EVENT_LIMITS = {
  /** Bytes of one `POST /v1/events/{type}` body. */
  singleBytes: 64 * 1024,
  /** Bytes of one `POST /v1/events/batch` body. */
  batchBytes: 1024 * 1024,
  /** Events in one batch. */
  batchItems: 500,
} as const;

/** One refusal of an input: which field, which rule, and a sentence for people. */
export interface EventIssue {
  /** Position in the batch (batch only). */
  index?: number;
  /** Dotted path of the field, `(input)` for the whole object. */
  field: string;
  /** zod's issue code (invalid_type, unrecognized_keys, too_small, custom, ...) or ours. */
  rule: string;
  message: string;
}

export type EventErrorCode =
  'events.unknown_type' | 'events.invalid' | 'events.batch_too_large' | 'events.unavailable';

export interface EventError {
  code: EventErrorCode;
  message: string;
  issues?: EventIssue[];
}

export type AcceptResult = { ok: true; id: string } | { ok: false; error: EventError };
export type AcceptBatchResult = { ok: true; results: { id: string }[] } | { ok: false; error: EventError };

/** An event as validated, ready for the spool. */
export interface SpoolInput {
  visitor: string;
  type: EventType;
  /** The schema's output: ids as JSON numbers, timestamp as UTC ISO 8601. */
  body: Record<string, unknown>;
}

/** A claimed spool row, as the sender sends it. */
export interface SpoolRow extends SpoolInput {
  /** bigint as text. */
  id: string;
  attempts: number;
  receivedAt: Date;
}

/** Typed in-process entry (library use); the HTTP routes are a thin layer over it. */
export interface EventService {
  /** Validate one event and spool it; resolves once it is committed in PostgreSQL. */
  accept(type: string, input: unknown): Promise<AcceptResult>;
  /** All or nothing: every item `{type, ...fields}` is valid and spooled in one commit, or none is. */
  acceptBatch(items: unknown): Promise<AcceptBatchResult>;
  /** Flush what is being collected and stop accepting. */
  close(): Promise<void>;
}

export interface EventSender {
  readonly owner: string;
  /** Send continuously: wakes on notify() and polls for other instances' events and retries. */
  start(): void;
  /** Stop claiming, let calls in flight finish within timeoutMs (default 10 s), release leases. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
  /** Send until nothing is due now (or within maxWaitMs); for tests and one-shot use. */
  drain(opts?: { maxWaitMs?: number }): Promise<SendReport>;
  /** Something was spooled in this process: claim now instead of at the next poll. */
  notify(): void;
  /** Re-check parked events against the index: send the known, drop the expired. */
  recheckParked(): Promise<RecheckReport>;
  /** The breaker towards Retail Rocket's tracking API (open: sending paused; clock: performance.now). */
  breaker(): BreakerSnapshot;
}

export interface SendReport {
  sent: number;
  parked: number;
  retried: number;
  deadLetters: number;
}

export interface RecheckReport {
  /** Parked events whose ids are all known now: pending again, sent with their original time. */
  unparked: number;
  /** Parked longer than EVENT_PARK_TTL: dropped, counted with reason park_ttl. */
  dropped: number;
  /** Still waiting. */
  parked: number;
}

export interface EventSenderDeps {
  state: pg.Pool;
  rr: RetailRocketClient;
  config: Config;
  logger: Logger;
  /** Identifies this process in spool leases (hostname:pid:random by default). */
  owner?: string;
}
