/**
 * A circuit breaker for one resource family (partnerRecommendations, categoryRecommendations, …):
 * a pure state machine of the clock it is given, so it is tested without timers or sockets.
 *
 * closed ──(failureThreshold failures in a row, the first no older than windowMs)──► open
 * open ──(coolDownMs passed: the next request is let through as the one probe)──► half_open
 * half_open ──probe succeeds──► closed;  half_open ──probe fails──► open (cool-down again)
 *
 * While open (and while the probe is out) requests are refused at once, so the caller answers from
 * its fallback without waiting for a Retail Rocket that is known to be failing.
 */

export interface BreakerOptions {
  /** Consecutive failures (timeouts, network errors, 5xx, 429, …) that open the breaker. */
  failureThreshold: number;
  /** The failures must fall within this window; an older first failure restarts the count. */
  windowMs: number;
  /** How long the breaker stays open before one probe is let through. */
  coolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = { failureThreshold: 5, windowMs: 30_000, coolDownMs: 10_000 };

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the caller may do now: call as usual, call as the half-open probe, or not call at all. */
export type Admission = 'call' | 'probe' | 'reject';

export type Outcome = 'success' | 'failure' | 'none';

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures in the current run (closed), 0 otherwise. */
  failures: number;
  /** When the breaker last opened (clock ms), while open or half-open. */
  openedAt?: number;
  /** Times it opened since creation. */
  opened: number;
}

export interface Breaker {
  admit(): Admission;
  /**
   * The outcome of a call admitted as `admission`. `none`: the call says nothing about the
   * upstream's health (a cached answer, our own rate limiter): a probe is simply given back.
   */
  record(admission: Exclude<Admission, 'reject'>, outcome: Outcome): void;
  snapshot(): BreakerSnapshot;
}

export function createBreaker(options: BreakerOptions, now: () => number): Breaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let firstFailureAt = 0;
  let openedAt = 0;
  let probeSince = 0;
  let opened = 0;

  const open = () => {
    state = 'open';
    openedAt = now();
    failures = 0;
    opened += 1;
  };

  return {
    admit() {
      if (state === 'closed') return 'call';
      const t = now();
      if (state === 'open') {
        if (t - openedAt < options.coolDownMs) return 'reject';
        state = 'half_open';
        probeSince = t;
        return 'probe';
      }
      // half_open: one probe at a time. A probe whose outcome never came back (it cannot happen
      // with the deadline race, but a lost one must not keep the breaker shut) is replaced after
      // another cool-down.
      if (t - probeSince >= options.coolDownMs) {
        probeSince = t;
        return 'probe';
      }
      return 'reject';
    },
    record(admission, outcome) {
      if (admission === 'probe') {
        if (state !== 'half_open') return;
        if (outcome === 'none') {
          // Back to open as it was: the cool-down has passed, so the next request probes.
          state = 'open';
        } else if (outcome === 'success') {
          state = 'closed';
          failures = 0;
        } else {
          open();
        }
        return;
      }
      // An ordinary call that finishes after the breaker opened (it was admitted before) changes
      // nothing: only the probe decides when it closes again.
      if (state !== 'closed' || outcome === 'none') return;
      if (outcome === 'success') {
        failures = 0;
        return;
      }
      const t = now();
      if (failures === 0 || t - firstFailureAt > options.windowMs) {
        failures = 0;
        firstFailureAt = t;
      }
      failures += 1;
      if (failures >= options.failureThreshold) open();
    },
    snapshot() {
      return {
        state,
        failures: state === 'closed' ? failures : 0,
        ...(state === 'closed' ? {} : { openedAt }),
        opened,
      };
    },
  };
}
