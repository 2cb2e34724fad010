import { backoffDelay, type RrResult } from '../rr/index.ts';

/** Why an item left a queue for good (a dead letter), never carrying the apiKey. */
export interface DeliveryFailure {
  /** HTTP status of the last answer, if there was one. */
  status?: number;
  /** http | invalid | timeout | network | rate_limited | attempts */
  errorKind: string;
  reason: string;
  /** Attempts made, this one included. */
  attempts: number;
}

export type DeliveryVerdict =
  | { action: 'done' }
  | { action: 'retry'; delayMs: number; countAttempt: boolean; error: string }
  | { action: 'dead'; failure: DeliveryFailure }
  /** Not sent and not the item's fault (the client was closed): give the lease back. */
  | { action: 'release' };

export interface DeliveryRule {
  /** After `made` failed attempts of a retryable kind: why to give up now, or null to retry. */
  giveUp(made: number): string | null;
  backoff: { baseMs: number; maxMs: number; random?: () => number };
}

/**
 * The rule every outgoing queue shares (design §6: the Product API outbox, the event spool): 2xx is
 * done; timeouts, network errors, 429 and 5xx are retried with exponential backoff and jitter,
 * never before a Retry-After, until the queue's own `giveUp` says enough; any other 4xx or a body
 * the client refuses is a dead letter at once. Our own limiter refusing a slot sent nothing, so it
 * is retried without counting an attempt.
 */
export function deliveryVerdict(
  result: RrResult<void>,
  attemptsBefore: number,
  rule: DeliveryRule,
): DeliveryVerdict {
  if (result.ok) return { action: 'done' };
  const e = result.error;
  if (e.kind === 'closed') return { action: 'release' };
  if (e.kind === 'rate_limited') {
    return {
      action: 'retry',
      delayMs: Math.max(e.retryAfterMs ?? 0, 100),
      countAttempt: false,
      error: e.message,
    };
  }
  const made = attemptsBefore + 1;
  const status = e.status === undefined ? {} : { status: e.status };
  if (!e.retryable) {
    return { action: 'dead', failure: { ...status, errorKind: e.kind, reason: e.message, attempts: made } };
  }
  const why = rule.giveUp(made);
  if (why !== null) {
    return {
      action: 'dead',
      failure: { ...status, errorKind: 'attempts', reason: `${why}; last: ${e.message}`, attempts: made },
    };
  }
  return {
    action: 'retry',
    delayMs: backoffDelay(attemptsBefore, rule.backoff, e.retryAfterMs),
    countAttempt: true,
    error: e.message,
  };
}
