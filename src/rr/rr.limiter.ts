import type { RrError } from './rr.errors.ts';

/**
 * `interactive`: recommendations and single events a storefront is waiting on.
 * `bulk`: Product API pushes and batches from background senders.
 */
export type Priority = 'interactive' | 'bulk';

export interface RateLimiterOptions {
  /** Requests per second for the partner (RR_RATE_LIMIT). */
  ratePerSecond: number;
  /** Bucket size in seconds of rate (default 0.1 s, at least one token). */
  burstSeconds?: number;
  /** Share of the bucket that only interactive calls may use (default 0.25). */
  interactiveReserve?: number;
  /** Queue bounds (default: one second of rate for interactive, ten for bulk). */
  maxQueued?: { interactive?: number; bulk?: number };
  now?: () => number;
}

export interface RateLimiter {
  /**
   * Resolves to null when the call may go, or to a `rate_limited` error when it could not get a
   * slot by `deadlineAt` (a performance.now() timestamp) or the queue is full. A call whose
   * estimated wait already passes its deadline fails at once.
   */
  acquire(priority: Priority, deadlineAt: number): null | RrError | Promise<null | RrError>;
  stats(): { tokens: number; queued: { interactive: number; bulk: number } };
  close(): void;
}

interface Waiter {
  deadlineAt: number;
  resolve: (v: null | RrError) => void;
  timer?: ReturnType<typeof setTimeout>;
  done: boolean;
}

const limited = (message: string, retryAfterMs?: number): RrError => ({
  kind: 'rate_limited',
  retryable: true,
  message,
  ...(retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(retryAfterMs) } : {}),
});

/**
 * Token bucket with two queues. Interactive waiters are always served first and may use every
 * token; bulk waiters are served only when no interactive call waits and more than the reserved
 * share of the bucket is left, so a storefront never waits behind a full-catalog push.
 */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const rate = opts.ratePerSecond;
  const now = opts.now ?? (() => performance.now());
  const capacity = Math.max(1, Math.round(rate * (opts.burstSeconds ?? 0.1)));
  const reserve = Math.min(capacity - 1, Math.floor(capacity * (opts.interactiveReserve ?? 0.25)));
  const maxQueued = {
    interactive: opts.maxQueued?.interactive ?? Math.max(1, Math.ceil(rate)),
    bulk: opts.maxQueued?.bulk ?? Math.max(1, Math.ceil(rate * 10)),
  };
  const queues: Record<Priority, Waiter[]> = { interactive: [], bulk: [] };
  const live = { interactive: 0, bulk: 0 };
  let tokens = capacity;
  let last = now();
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const msPerToken = 1000 / rate;
  const floorFor = (p: Priority) => (p === 'interactive' ? 1 : 1 + reserve);

  function refill(t: number) {
    if (t > last) {
      tokens = Math.min(capacity, tokens + (t - last) / msPerToken);
      last = t;
    }
  }

  function finish(w: Waiter, priority: Priority, value: null | RrError) {
    if (w.done) return;
    w.done = true;
    live[priority]--;
    if (w.timer) clearTimeout(w.timer);
    w.resolve(value);
  }

  function serve(priority: Priority, t: number) {
    const q = queues[priority];
    while (q.length > 0) {
      const w = q[0]!;
      if (w.done) {
        q.shift();
        continue;
      }
      if (w.deadlineAt <= t) {
        q.shift();
        finish(w, priority, limited('rate limit: no slot before the deadline'));
        continue;
      }
      if (tokens < floorFor(priority)) return;
      q.shift();
      tokens -= 1;
      finish(w, priority, null);
    }
  }

  function drain() {
    drainTimer = undefined;
    const t = now();
    refill(t);
    serve('interactive', t);
    if (live.interactive === 0) serve('bulk', t);
    schedule();
  }

  function schedule() {
    if (drainTimer || closed) return;
    const next = live.interactive > 0 ? 'interactive' : live.bulk > 0 ? 'bulk' : undefined;
    if (!next) return;
    const delay = Math.max(1, Math.ceil((floorFor(next) - tokens) * msPerToken));
    drainTimer = setTimeout(drain, delay);
    drainTimer.unref?.();
  }

  return {
    acquire(priority, deadlineAt) {
      if (closed) return { kind: 'closed', retryable: false, message: 'client closed' };
      const t = now();
      refill(t);
      const ahead = priority === 'interactive' ? live.interactive : live.interactive + live.bulk;
      if (ahead === 0 && tokens >= floorFor(priority)) {
        tokens -= 1;
        return null;
      }
      if (live[priority] >= maxQueued[priority]) {
        return limited(
          `rate limit: ${priority} queue full (${maxQueued[priority]} waiting)`,
          msPerToken * ahead,
        );
      }
      // Earliest moment this call could get its token if nothing else arrived.
      const waitMs = (ahead + floorFor(priority) - tokens) * msPerToken;
      if (t + waitMs > deadlineAt) {
        return limited(`rate limit: a slot needs about ${Math.ceil(waitMs)} ms, past the deadline`, waitMs);
      }
      return new Promise<null | RrError>((resolve) => {
        const w: Waiter = { deadlineAt, resolve, done: false };
        w.timer = setTimeout(
          () => finish(w, priority, limited('rate limit: no slot before the deadline')),
          Math.max(0, deadlineAt - t),
        );
        w.timer.unref?.();
        queues[priority].push(w);
        live[priority]++;
        schedule();
      });
    },
    stats: () => ({ tokens, queued: { ...live } }),
    close() {
      closed = true;
      if (drainTimer) clearTimeout(drainTimer);
      for (const p of ['interactive', 'bulk'] as const) {
        for (const w of queues[p])
          finish(w, p, { kind: 'closed', retryable: false, message: 'client closed' });
        queues[p] = [];
      }
    },
  };
}
