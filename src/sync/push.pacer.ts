/**
 * Paces pushes at `ratePerSecond` with a token bucket. Timers fire late on a busy machine; the
 * bucket keeps what accrued meanwhile (up to `burstSeconds` of rate), so the average rate stays
 * on target instead of losing every late millisecond. It starts with one token: a drain does not
 * open with a burst.
 */
export function createPacer(ratePerSecond: number, opts: { burstSeconds?: number; now?: () => number } = {}) {
  const now = opts.now ?? (() => performance.now());
  const msPerToken = 1000 / ratePerSecond;
  const capacity = Math.max(1, ratePerSecond * (opts.burstSeconds ?? 0.05));
  let tokens = 1;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(capacity, tokens + (t - last) / msPerToken);
    last = t;
  };
  return {
    /** Takes a token and returns 0, or returns how many ms until one is available. */
    take(): number {
      refill();
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - tokens) * msPerToken));
    },
    /**
     * Nothing could be sent for a while (no work, or every slot busy): forget the accrued
     * tokens, so that idle time is not spent later as a burst above the rate.
     */
    idle(): void {
      refill();
      tokens = Math.min(tokens, 1);
    },
  };
}

/**
 * How many calls may be in flight, like TCP's window: it doubles per round of answers until the
 * first timeout (slow start), then grows by one per round (one more per `limit` answers); a timeout
 * halves it, at most once per `coolDownMs` (one burst of timeouts is one signal). When Retail Rocket
 * (or the network) is saturated, a fixed large window only turns every call into a timeout; this
 * one settles where answers still come back within the deadline. `max` is what the rate needs at
 * the deadline's latency.
 */
export function createConcurrencyLimit(
  opts: { min: number; max: number; start?: number; coolDownMs: number },
  now: () => number = () => performance.now(),
) {
  let limit = Math.min(opts.max, Math.max(opts.min, opts.start ?? 16));
  let threshold = opts.max;
  let lastCut = -Infinity;
  return {
    get: () => Math.floor(limit),
    success(): void {
      limit = Math.min(opts.max, limit < threshold ? limit + 1 : limit + 1 / limit);
    },
    timeout(): void {
      const t = now();
      if (t - lastCut < opts.coolDownMs) return;
      lastCut = t;
      limit = Math.max(opts.min, limit / 2);
      threshold = limit;
    },
  };
}
