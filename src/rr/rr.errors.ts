import type { Logger } from '../shared/logger.ts';

/**
 * Every call of the Retail Rocket client resolves to an RrResult: callers branch on `ok` and fall
 * back (design §1: the shop keeps working when Retail Rocket is slow, down or refuses).
 * Nothing here throws for an upstream failure.
 */
export type RrErrorKind =
  /** The deadline passed (connect, queue for the socket, headers or body). */
  | 'timeout'
  /** Connection refused/reset, TLS failure, stream error: the request may not have arrived. */
  | 'network'
  /** Retail Rocket answered with a non-2xx status (see `status`). */
  | 'http'
  /** Refused before sending (bad id, bad field) or an answer that does not match the contract. */
  | 'invalid'
  /** The client's own rate limiter could not give a slot before the deadline, or its queue is full. */
  | 'rate_limited'
  /** The client was closed. */
  | 'closed';

export interface RrError {
  kind: RrErrorKind;
  /** True for timeouts, network errors, 429 and 5xx: a background sender may try again later. */
  retryable: boolean;
  /** Human-readable, names the field and rule for `invalid`; never contains the apiKey. */
  message: string;
  /** HTTP status for kind `http`. */
  status?: number;
  /** Minimum wait before a retry (from Retry-After on 429/503, or the limiter's estimate). */
  retryAfterMs?: number;
  /** undici / Node error code when there is one (e.g. UND_ERR_SOCKET, ECONNREFUSED). */
  code?: string;
}

export type RrResult<T> = { ok: true; value: T; status: number } | { ok: false; error: RrError };

export const rrFail = (error: RrError): { ok: false; error: RrError } => ({ ok: false, error });

const API_KEY_IN_URL = /([?&;]api_?key=)[^&#\s"'<>]*/gi;
const API_KEY_NAME = /api_?key=/i;
const REDACTED = '[redacted]';

/**
 * The forms a secret takes on its way into a URL or a message: as is, through
 * encodeURIComponent (our query builder), through URLSearchParams / form encoding (space as '+',
 * more characters escaped), through encodeURI, and with lower-case hex escapes.
 */
function secretForms(secret: string): string[] {
  const component = encodeURIComponent(secret);
  const form = new URLSearchParams({ k: secret }).toString().slice(2);
  const forms = new Set([
    secret,
    component,
    component.replace(/%20/g, '+'),
    form,
    form.replace(/\+/g, '%20'),
    encodeURI(secret),
  ]);
  for (const f of [...forms]) forms.add(f.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()));
  // Longest first: a shorter form that is a prefix of a longer one must not leave its tail behind.
  return [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
}

/**
 * The one redaction used for every URL, error message and log line that leaves the client:
 * every literal occurrence of the given secrets (in each encoded form) first, then any
 * `apiKey=` query value (either spelling). The order matters: the pattern stops at '&' or a
 * space, so run first it would leave the tail of a key that contains one.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  return createRedactor(secrets)(text);
}

function redactForms(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) {
    if (out.includes(form)) out = out.split(form).join(REDACTED);
  }
  if (API_KEY_NAME.test(out)) out = out.replace(API_KEY_IN_URL, `$1${REDACTED}`);
  return out;
}

/** A redact() bound to the client's secret. */
export type Redactor = (text: string) => string;
export function createRedactor(secrets: readonly (string | undefined)[]): Redactor {
  // Longest first across all secrets too: one key may contain another.
  const forms = secrets
    .flatMap((s) => (typeof s === 'string' && s.length > 0 ? secretForms(s) : []))
    .sort((a, b) => b.length - a.length);
  return (text) => redactForms(text, forms);
}

function redactValue(value: unknown, r: Redactor, depth: number): unknown {
  if (typeof value === 'string') return r(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: r(value.message) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, r, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, r, depth + 1);
  return out;
}

/** Wraps a Logger so that every string in every log line passes through the redactor. */
export function createRedactingLogger(logger: Logger, r: Redactor): Logger {
  const wrap =
    (fn: (obj: Record<string, unknown>, msg?: string) => void) =>
    (obj: Record<string, unknown>, msg?: string) =>
      fn(redactValue(obj, r, 0) as Record<string, unknown>, msg === undefined ? undefined : r(msg));
  return {
    debug: wrap(logger.debug.bind(logger)),
    info: wrap(logger.info.bind(logger)),
    warn: wrap(logger.warn.bind(logger)),
    error: wrap(logger.error.bind(logger)),
    child: (bindings) =>
      createRedactingLogger(logger.child(redactValue(bindings, r, 0) as Record<string, unknown>), r),
  };
}

const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** 429, 408 and 5xx may succeed later; 400/401/403/404 and the rest never will. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || status >= 500;
}

export function httpError(status: number, detail: string, retryAfterMs?: number): RrError {
  return {
    kind: 'http',
    status,
    retryable: isRetryableStatus(status),
    message: `Retail Rocket answered ${status}${detail ? `: ${detail}` : ''}`,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries?: number;
  /** Base of the exponential backoff in ms (default 200). */
  baseMs?: number;
  /** Cap of one backoff step in ms (default 30 s). */
  maxMs?: number;
  /** Stops retrying (the last result is returned) when aborted. */
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log or count retries. */
  onRetry?: (info: { attempt: number; delayMs: number; error: RrError }) => void;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Full-jitter delay for attempt n (0-based), never below a server-given Retry-After. */
export function backoffDelay(
  attempt: number,
  opts: { baseMs?: number; maxMs?: number; random?: () => number },
  retryAfterMs?: number,
): number {
  const cap = Math.min(opts.maxMs ?? 30_000, (opts.baseMs ?? 200) * 2 ** attempt);
  const jittered = Math.floor((opts.random ?? Math.random)() * cap);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * For background senders only (Product API pushes, batches, the event spool): repeats `fn` while
 * it fails with a retryable error, with exponential backoff and full jitter, honouring
 * Retry-After. Permanent errors (400, 401, 403, 404, invalid input) return at once. Never use it
 * on the request path of a storefront call: there the caller falls back instead.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<RrResult<T>>,
  opts: RetryOptions = {},
): Promise<RrResult<T>> {
  const retries = opts.retries ?? 5;
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    const result = await fn(attempt);
    if (result.ok || !result.error.retryable || attempt >= retries || opts.signal?.aborted) return result;
    const delayMs = backoffDelay(attempt, opts, result.error.retryAfterMs);
    opts.onRetry?.({ attempt: attempt + 1, delayMs, error: result.error });
    await sleep(delayMs, opts.signal);
    if (opts.signal?.aborted) return result;
  }
}
