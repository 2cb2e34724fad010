/**
 * A circuit breaker for one upstream (each recommendations resource family; the event sender):
 * a pure state machine of the clock it is given, so it is tested without timers or sockets.
 *
 * closed ──(in the last windowMs: at least failureThreshold failures, and at least failureRatio
 *           of the calls failed; or consecutiveFailures failures in a row)──► open
 * open ──(coolDownMs passed: the next request is let through as the one probe)──► half_open
 * half_open ──probe succeeds──► closed;  half_open ──probe fails──► open (cool-down again)
 *
 * Both conditions matter. A quiet shop whose Retail Rocket is down sees a few calls, all failing:
 * the count opens it. A busy one sees a few slow answers among hundreds (a cold start, one stalled
 * connection): without the ratio, five of them in a row opened the breaker and sent every visitor
 * to the fallback for the cool-down, though Retail Rocket answered 99 % of the calls (bench:api).
 * The run of consecutive failures is for the other edge: right after a busy healthy period, the
 * window is full of successes, and a Retail Rocket that stalls now would need as many timeouts
 * (seconds of answers at the deadline) before the ratio turns; a long unbroken run of them says
 * the same sooner.
 *
 * While open (and while the probe is out) requests are refused at once, so the caller answers from
 * its fallback without waiting for a Retail Rocket that is known to be failing.
 */

export interface BreakerOptions {
  /** Failures (timeouts, network errors, 5xx, 429, …) in the window that can open the breaker. */
  failureThreshold: number;
  /** Share of the window's calls that must have failed, too (0-1). */
  failureRatio: number;
  /** The rolling window the outcomes are counted in. */
  windowMs: number;
  /** Failures in a row (no success between them) that open the breaker whatever the window says. */
  consecutiveFailures: number;
  /** How long the breaker stays open before one probe is let through. */
  coolDownMs: number;
}

export const DEFAULT_BREAKER: BreakerOptions = {
  failureThreshold: 5,
  failureRatio: 0.5,
  windowMs: 10_000,
  consecutiveFailures: 20,
  coolDownMs: 10_000,
};

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What the caller may do now: call as usual, call as the half-open probe, or not call at all. */
export type Admission = 'call' | 'probe' | 'reject';

export type Outcome = 'success' | 'failure' | 'none';

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures in the window (closed), 0 otherwise. */
  failures: number;
  /** Calls with an outcome in the window (closed), 0 otherwise. */
  calls: number;
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
  /** Milliseconds until an open breaker lets the probe through (0 when it is not open). */
  probeInMs(): number;
  snapshot(): BreakerSnapshot;
}

/** The window in slices: an outcome leaves the count within a tenth of windowMs of its time. */
const SLICES = 10;

export function createBreaker(options: BreakerOptions, now: () => number): Breaker {
  let state: BreakerState = 'closed';
  let openedAt = 0;
  let probeSince = 0;
  let opened = 0;
  let inARow = 0;
  const sliceMs = Math.max(1, options.windowMs / SLICES);
  // Ring of slices: which slice number each holds, and its counts.
  const slices = Array.from({ length: SLICES }, () => ({ n: -1, calls: 0, failures: 0 }));

  const counts = (t: number) => {
    const current = Math.floor(t / sliceMs);
    let calls = 0;
    let failures = 0;
    for (const s of slices)
      if (s.n > current - SLICES && s.n <= current) {
        calls += s.calls;
        failures += s.failures;
      }
    return { calls, failures };
  };
  const count = (t: number, failed: boolean) => {
    const n = Math.floor(t / sliceMs);
    const s = slices[((n % SLICES) + SLICES) % SLICES]!;
    if (s.n !== n) Object.assign(s, { n, calls: 0, failures: 0 });
    s.calls += 1;
    if (failed) s.failures += 1;
  };
  const forget = () => {
    for (const s of slices) Object.assign(s, { n: -1, calls: 0, failures: 0 });
  };

  const open = () => {
    state = 'open';
    openedAt = now();
    forget();
    inARow = 0;
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
          forget();
          inARow = 0;
        } else {
          open();
        }
        return;
      }
      // An ordinary call that finishes after the breaker opened (it was admitted before) changes
      // nothing: only the probe decides when it closes again.
      if (state !== 'closed' || outcome === 'none') return;
      const t = now();
      count(t, outcome === 'failure');
      if (outcome === 'success') {
        inARow = 0;
        return;
      }
      inARow += 1;
      const { calls, failures } = counts(t);
      if (
        inARow >= options.consecutiveFailures ||
        (failures >= options.failureThreshold && failures >= calls * options.failureRatio)
      )
        open();
    },
    probeInMs() {
      return state === 'open' ? Math.max(0, openedAt + options.coolDownMs - now()) : 0;
    },
    snapshot() {
      const { calls, failures } = state === 'closed' ? counts(now()) : { calls: 0, failures: 0 };
      return {
        state,
        failures,
        calls,
        ...(state === 'closed' ? {} : { openedAt }),
        opened,
      };
    },
  };
}
