import type { RrResult } from '../rr/index.ts';
import { deliveryVerdict } from '../shared/delivery.verdict.ts';
import type { DeadLetterFailure } from './outbox.repository.ts';

/** Exponential backoff of outbox retries: 1 s, 2 s, 4 s ... capped at 5 min, full jitter. */
export const PUSH_BACKOFF = { baseMs: 1000, maxMs: 300_000 } as const;

/** What to do with an outbox row after one call. */
export type PushVerdict =
  | { action: 'complete' }
  | { action: 'retry'; delayMs: number; countAttempt: boolean; error: string }
  | { action: 'dead'; failure: DeadLetterFailure }
  /** Not sent and not the row's fault (the client was closed): give the lease back. */
  | { action: 'release' };

/**
 * The pusher's rule (design §6): 2xx completes; timeouts, network errors, 429 and 5xx are retried
 * with backoff (never before a Retry-After) until `maxAttempts` calls failed; any other 4xx or an
 * invalid body is a dead letter at once. The client's own limiter refusing a slot sent nothing,
 * so it is retried without counting an attempt.
 */
export function pushVerdict(
  result: RrResult<void>,
  attemptsBefore: number,
  maxAttempts: number,
  backoff: { baseMs?: number; maxMs?: number; random?: () => number } = PUSH_BACKOFF,
): PushVerdict {
  const v = deliveryVerdict(result, attemptsBefore, {
    giveUp: (made) => (made >= maxAttempts ? `gave up after ${made} attempts` : null),
    backoff: { ...PUSH_BACKOFF, ...backoff },
  });
  return v.action === 'done' ? { action: 'complete' } : v;
}

/**
 * Is Retail Rocket unreachable? Yes once every call over at least `windowMs` failed with a
 * timeout or a network error (no answer at all). Any answer, even a 5xx, proves it reachable.
 */
export function createReachability(windowMs: number, now: () => number = () => performance.now()) {
  let firstFailure: number | null = null;
  let lastFailure = 0;
  return {
    record(result: RrResult<void>): void {
      if (result.ok) {
        firstFailure = null;
        return;
      }
      const kind = result.error.kind;
      if (kind === 'timeout' || kind === 'network') {
        lastFailure = now();
        firstFailure ??= lastFailure;
      } else if (kind === 'http') {
        firstFailure = null;
      }
      // invalid, rate_limited, closed: nothing was sent, so nothing was learnt.
    },
    /** Every call since the last answer failed without one (possibly a short streak). */
    failing: () => firstFailure !== null,
    unreachable: () => firstFailure !== null && lastFailure - firstFailure >= windowMs,
  };
}
