/**
 * An open-loop load at a constant rate, for the benchmarks whose targets are "N requests/s, p99 <
 * X ms": request i is due at start + i/rate whatever the answers before it did, and its latency is
 * counted from that due time (not from when it went out), so a stalled server or a late generator
 * shows in the figures instead of slowing the load down (no coordinated omission, as in wrk2).
 *
 * Why not autocannon's `overallRate`: it splits the rate over the connections and each connection
 * sends its share back to back at the start of every second, then pauses (autocannon issue #174):
 * a burst of every connection at once, then silence. Its coordinated-omission correction also
 * back-fills with a 1 ms interval whatever the rate, so a 30 ms answer is recorded as 30 answers.
 * Neither is the "sustained" load the targets name.
 *
 * HTTP/1.1 over undici's Pool (keep-alive, no pipelining): `connections` bounds the requests in
 * flight; a request due while every connection is busy waits in the pool, and that wait counts.
 */
import { Pool } from 'undici';

export interface PacedRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface PacedOptions {
  /**
   * The connections (`openPool`). Reuse the pool of a warm-up so that the timed load does not
   * count their set-up.
   */
  pool: Pool;
  /** Requests per second, evenly spaced. */
  rate: number;
  seconds: number;
  /** The i-th request (0-based). */
  request(i: number): PacedRequest;
  /** Each answer (of the i-th request), with its latency (ms, from its due time). */
  onResponse?(
    status: number,
    body: string,
    headers: Record<string, unknown>,
    latencyMs: number,
    i: number,
  ): void;
}

export interface PacedResult {
  requests: number;
  '2xx': number;
  non2xx: number;
  errors: number;
  'req/s': number;
  'p50 ms': number;
  'p90 ms': number;
  'p99 ms': number;
  'p99.9 ms': number;
  'max ms': number;
  /** How late the generator itself sent (its own event loop): p99 and max, ms. */
  'send lag p99 ms': number;
  'send lag max ms': number;
  /** Per second of due time: answers' p99 (ms), to see a cold start or a stall settle. */
  'p99 by second': number[];
  /** Wall-clock time of the first due request: to line its seconds up with other logs. */
  started: string;
}

/** Milliseconds to one decimal, as printed. */
export const round = (ms: number) => Math.round(ms * 10) / 10;

/** The `q` quantile of ascending values (NaN when there are none). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Keep-alive HTTP/1.1 connections, one request at a time each; an answer later than 10 s fails. */
export function openPool(url: string, connections: number): Pool {
  return new Pool(url, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 120_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
}

export async function pacedLoad(options: PacedOptions): Promise<PacedResult> {
  const total = Math.max(1, Math.round(options.rate * options.seconds));
  const interval = 1000 / options.rate;
  const { pool } = options;
  const latency = new Float64Array(total);
  const lag = new Float64Array(total);
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now() + 5;
  const started = new Date(Date.now() + 5).toISOString();
  let lastSent = start;

  await new Promise<void>((resolve) => {
    const settle = (i: number, due: number) => {
      latency[i] = performance.now() - due;
      settled += 1;
      if (settled === total) resolve();
    };
    const fire = (i: number) => {
      const due = start + i * interval;
      lastSent = performance.now();
      lag[i] = Math.max(0, lastSent - due);
      const r = options.request(i);
      pool
        .request({ method: r.method ?? 'GET', path: r.path, headers: r.headers, body: r.body })
        .then(async (res) => {
          const text = await res.body.text();
          if (res.statusCode >= 200 && res.statusCode < 300) ok += 1;
          else non2xx += 1;
          settle(i, due);
          options.onResponse?.(res.statusCode, text, res.headers, latency[i]!, i);
        })
        .catch(() => {
          errors += 1;
          settle(i, due);
        });
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      while (sent < due) fire(sent++);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });

  const perSecond = Math.max(1, Math.round(options.rate));
  const bySecond: number[] = [];
  for (let at = 0; at < total; at += perSecond) {
    bySecond.push(Math.round(quantile(latency.slice(at, at + perSecond).sort(), 0.99)));
  }
  const sorted = latency.sort();
  const lagSorted = lag.sort();
  return {
    requests: total,
    '2xx': ok,
    non2xx,
    errors,
    // The rate the requests went out at (the answers may trail it).
    'req/s': Math.round(total / (Math.max(lastSent - start, interval * (total - 1)) / 1000 || 1)),
    'p50 ms': round(quantile(sorted, 0.5)),
    'p90 ms': round(quantile(sorted, 0.9)),
    'p99 ms': round(quantile(sorted, 0.99)),
    'p99.9 ms': round(quantile(sorted, 0.999)),
    'max ms': round(sorted[sorted.length - 1]!),
    'send lag p99 ms': round(quantile(lagSorted, 0.99)),
    'send lag max ms': round(lagSorted[lagSorted.length - 1]!),
    'p99 by second': bySecond,
    started,
  };
}
