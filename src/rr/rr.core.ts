import type { z } from 'zod';
import type { Logger } from '../shared/logger.ts';
import type { Redactor, RrError, RrResult } from './rr.errors.ts';
import type { HttpResponse, HttpTransport } from './rr.http.ts';
import type { Priority, RateLimiter } from './rr.limiter.ts';
import { describeIssues } from './rr.schemas.ts';

/** Per-call knobs every typed method accepts. */
export interface CallOptions {
  /** Deadline for this call in ms (default RR_TIMEOUT_MS; batches default to batchTimeoutMs). */
  timeoutMs?: number;
  /** Overrides the method's default priority. */
  priority?: Priority;
  /** Bulk calls only: how long to wait for a rate-limit slot before the deadline starts (default 10 s). */
  queueTimeoutMs?: number;
}

export interface CallSpec<T> {
  /** Short operation name for logs, e.g. `event.view`, `recs.productRecommendations/related`. */
  op: string;
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  priority: Priority;
  timeoutMs: number;
  queueTimeoutMs?: number;
  /** Turns a 2xx answer into the typed value (or an `invalid` error). */
  parse: (res: HttpResponse) => RrResult<T>;
}

/** One finished call, for metrics (no URL, no body: nothing secret). */
export interface CallInfo {
  op: string;
  ok: boolean;
  status?: number;
  kind?: RrError['kind'];
  ms: number;
}

/** What the resource modules share: identity, base URLs, and the one way to make a call. */
export interface RrCore {
  partnerId: string;
  apiKey: string;
  urls: { tracking: string; recommendations: string; productApi: string };
  timeoutMs: number;
  batchTimeoutMs: number;
  logger: Logger;
  redact: Redactor;
  call<T>(spec: CallSpec<T>): Promise<RrResult<T>>;
}

export const invalid = (message: string): { ok: false; error: RrError } => ({
  ok: false,
  error: { kind: 'invalid', retryable: false, message },
});

/** Validates outgoing data; a failure names the field and the rule. */
export function check<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): { ok: true; value: z.output<S> } | { ok: false; error: RrError } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return invalid(`${what} refused before sending: ${describeIssues(parsed.error)}`);
}

type QueryValue = string | number | undefined | readonly (string | number)[];

/**
 * Query string with list values comma-joined (each element encoded, the commas literal, as in
 * the documented examples). Pairs with an undefined value are skipped.
 */
export function query(pairs: readonly (readonly [string, QueryValue])[]): string {
  let out = '';
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    const encoded = Array.isArray(value)
      ? value.map((v) => encodeURIComponent(String(v))).join(',')
      : encodeURIComponent(String(value));
    out += `${out ? '&' : ''}${key}=${encoded}`;
  }
  return out;
}

export function createCore(opts: {
  partnerId: string;
  apiKey: string;
  urls: RrCore['urls'];
  timeoutMs: number;
  batchTimeoutMs: number;
  bulkQueueTimeoutMs: number;
  logger: Logger;
  redact: Redactor;
  transport: HttpTransport;
  limiter: RateLimiter;
  onCall?: (info: CallInfo) => void;
}): RrCore {
  const { transport, limiter, logger, redact } = opts;
  const failureLog = createLogThrottle(1000);

  async function call<T>(spec: CallSpec<T>): Promise<RrResult<T>> {
    const started = performance.now();
    const deadlineAt = started + spec.timeoutMs;
    const queueUntil =
      spec.priority === 'bulk' ? started + (spec.queueTimeoutMs ?? opts.bulkQueueTimeoutMs) : deadlineAt;
    const slot = limiter.acquire(spec.priority, queueUntil);
    const refused = slot !== null && 'then' in slot ? await slot : slot;
    if (refused) return done(spec, started, { ok: false, error: refused });
    // Interactive calls spend their one budget on queue and request together; bulk calls get the
    // full deadline for the request once they have a slot.
    const remaining = spec.priority === 'bulk' ? spec.timeoutMs : deadlineAt - performance.now();
    const res = await transport.send({
      method: spec.method,
      url: spec.url,
      body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
      timeoutMs: remaining,
    });
    return done(spec, started, res.ok ? spec.parse(res.value) : res);
  }

  function done<T>(spec: CallSpec<T>, started: number, result: RrResult<T>): RrResult<T> {
    const ms = Math.round((performance.now() - started) * 10) / 10;
    opts.onCall?.(
      result.ok
        ? { op: spec.op, ok: true, status: result.status, ms }
        : { op: spec.op, ok: false, status: result.error.status, kind: result.error.kind, ms },
    );
    if (result.ok) {
      logger.debug({ op: spec.op, status: result.status, ms }, 'retail rocket call');
    } else {
      const { kind, status, message, retryable } = result.error;
      const suppressed = failureLog.admit(`${spec.op} ${kind} ${status ?? ''}`);
      if (suppressed !== false) {
        logger.warn(
          { op: spec.op, url: redact(spec.url), kind, status, retryable, ms, err: message, suppressed },
          'retail rocket call failed',
        );
      }
    }
    return result;
  }

  return {
    partnerId: opts.partnerId,
    apiKey: opts.apiKey,
    urls: opts.urls,
    timeoutMs: opts.timeoutMs,
    batchTimeoutMs: opts.batchTimeoutMs,
    logger,
    redact,
    call,
  };
}

/** For resources whose answer carries nothing (events, upserts): any 2xx is success (§1.4). */
export const parseEmpty = (res: HttpResponse): RrResult<void> => ({
  ok: true,
  status: res.status,
  value: undefined,
});

/**
 * During an outage every call fails the same way: one warn line per kind of failure and second
 * is enough. `admit` returns false to skip a line, or how many lines were skipped before it.
 */
export function createLogThrottle(windowMs: number, now: () => number = () => performance.now()) {
  const windows = new Map<string, { until: number; skipped: number }>();
  return {
    admit(key: string): number | false {
      const t = now();
      const w = windows.get(key);
      if (w && t < w.until) {
        w.skipped++;
        return false;
      }
      if (windows.size > 1000) windows.clear();
      windows.set(key, { until: t + windowMs, skipped: 0 });
      return w?.skipped ?? 0;
    },
  };
}
