import { readFileSync } from 'node:fs';
import { rootCertificates, type TLSSocket } from 'node:tls';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import type { Logger } from '../shared/logger.ts';
import { httpError, parseRetryAfter, type Redactor, type RrError, type RrResult } from './rr.errors.ts';

export interface HttpOptions {
  /** Extra CA (PEM file) trusted on top of the system roots, e.g. the emulator's. */
  caFile?: string;
  /** Streams allowed at once on the single HTTP/2 connection per origin (default 256). */
  maxStreams?: number;
  /** Sockets per origin when the origin speaks HTTP/1.1 only (default 64). */
  http1Connections?: number;
  /** Idle time before a cached connection is closed (default 60 s; tests use less). */
  keepAliveMs?: number;
  /** TCP+TLS handshake limit (default 5 s); each request's own deadline still applies. */
  connectTimeoutMs?: number;
  /** Replaces the per-origin agents (MockAgent in narrow unit tests). */
  dispatcher?: Dispatcher;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Full URL including the apiKey; never logged as is. */
  url: string;
  body?: string;
  /** Milliseconds left for connection, request and body together. */
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export interface HttpTransport {
  send(req: HttpRequest): Promise<RrResult<HttpResponse>>;
  /** Which protocol an origin turned out to speak ('h2' once its TLS handshake chose it). */
  protocolOf(origin: string): 'h2' | 'http/1.1' | 'unknown';
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const GET_HEADERS = { accept: 'application/json' };
const MAX_ERROR_DETAIL = 300;

/** Raised inside the transport only, as the abort reason, to tell our deadline from other aborts. */
class DeadlineExceeded extends Error {
  constructor() {
    super('deadline exceeded');
    this.name = 'DeadlineExceeded';
  }
}

interface OriginState {
  /** The dispatcher requests go to right now. */
  current: Dispatcher;
  protocol: 'h2' | 'http/1.1' | 'unknown';
  all: Dispatcher[];
  /** While the first TLS handshake of a new origin runs, later requests wait for its ALPN result. */
  handshake?: { done: Promise<void>; settle: () => void };
}

/**
 * HTTP/2 over TLS with one cached, multiplexed connection per origin; HTTP/1.1 keep-alive pool
 * for plain http:// origins and for TLS origins whose handshake does not choose h2. Every request
 * carries a deadline that covers the wait for a socket, the headers and the body.
 */
export function createHttpTransport(opts: HttpOptions, logger: Logger, redactor: Redactor): HttpTransport {
  const ca = opts.caFile ? [...rootCertificates, readFileSync(opts.caFile, 'utf8')] : undefined;
  const keepAliveTimeout = opts.keepAliveMs ?? 60_000;
  const http1Connections = opts.http1Connections ?? 64;
  const connectTimeout = opts.connectTimeoutMs ?? 5000;
  const origins = new Map<string, OriginState>();
  let closed = false;

  const http1Pool = () =>
    new Agent({
      connections: http1Connections,
      keepAliveTimeout,
      keepAliveMaxTimeout: keepAliveTimeout,
      connect: { ...(ca ? { ca } : {}), timeout: connectTimeout },
    });

  function originState(origin: string): OriginState {
    let state = origins.get(origin);
    if (state) return state;
    if (opts.dispatcher) {
      state = { current: opts.dispatcher, protocol: 'unknown', all: [] };
    } else if (origin.startsWith('https:')) {
      const s: OriginState = { current: undefined as unknown as Dispatcher, protocol: 'unknown', all: [] };
      const connector = buildConnector({ ...(ca ? { ca } : {}), allowH2: true, timeout: connectTimeout });
      // One connection, many streams. The connector wrapper learns what ALPN chose: an origin
      // without h2 would otherwise be served by a single HTTP/1.1 socket, one request at a time.
      const h2 = new Agent({
        allowH2: true,
        connections: 1,
        // undici runs `pipelining` requests at once per connection, also over h2 (default 1).
        pipelining: opts.maxStreams ?? 256,
        maxConcurrentStreams: opts.maxStreams ?? 256,
        keepAliveTimeout,
        keepAliveMaxTimeout: keepAliveTimeout,
        connect: (options, callback) =>
          connector(options, (err, socket) => {
            s.handshake?.settle();
            s.handshake = undefined;
            if (!err && socket) {
              const alpn = (socket as TLSSocket).alpnProtocol;
              if (alpn === 'h2') s.protocol = 'h2';
              else if (s.protocol === 'unknown') {
                s.protocol = 'http/1.1';
                const pool = http1Pool();
                s.all.push(pool);
                s.current = pool;
                logger.info({ origin }, 'origin does not offer HTTP/2: using an HTTP/1.1 keep-alive pool');
              }
            }
            if (err) callback(err, null);
            else callback(null, socket!);
          }),
      });
      s.current = h2;
      s.all.push(h2);
      state = s;
    } else {
      const pool = http1Pool();
      state = { current: pool, protocol: 'http/1.1', all: [pool] };
    }
    origins.set(origin, state);
    return state;
  }

  async function send(req: HttpRequest): Promise<RrResult<HttpResponse>> {
    if (closed) return { ok: false, error: { kind: 'closed', retryable: false, message: 'client closed' } };
    const timeoutMs = Math.max(1, Math.floor(req.timeoutMs));
    const state = originState(originOf(req.url));
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineExceeded()), timeoutMs);
    try {
      if (state.protocol === 'unknown' && !opts.dispatcher) await firstHandshake(state, controller.signal);
      const res = await request(req.url, {
        dispatcher: state.current,
        method: req.method,
        headers: req.body === undefined ? GET_HEADERS : JSON_HEADERS,
        body: req.body,
        signal: controller.signal,
        // undici runs a non-idempotent request (POST) on an h2 session only when nothing else is
        // in flight; every event would then wait for the previous one. Nothing here is retried
        // by undici, so marking them idempotent only lifts that serialisation.
        idempotent: true,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      const { statusCode: status, headers } = res;
      if (status >= 200 && status < 300) {
        return { ok: true, status, value: { status, headers, body: parseJson(text) } };
      }
      const retryAfterMs = parseRetryAfter(headers['retry-after']);
      // Redact before cutting: a cut through the key would leave a prefix no redaction recognises.
      return { ok: false, error: httpError(status, redactor(text).slice(0, MAX_ERROR_DETAIL), retryAfterMs) };
    } catch (err) {
      return { ok: false, error: classifyThrown(err, controller.signal, timeoutMs, redactor) };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    send,
    protocolOf: (origin) => origins.get(originOf(origin))?.protocol ?? 'unknown',
    async close() {
      closed = true;
      const all = [...origins.values()].flatMap((s) => s.all);
      origins.clear();
      await Promise.all(all.map((d) => d.close().catch(() => d.destroy().catch(() => undefined))));
    },
  };
}

/**
 * The first request to a TLS origin goes at once and opens the connection; the ones arriving
 * before its handshake finished wait for it (within their deadline), so that they are not all
 * queued on one HTTP/1.1 socket when the origin turns out not to speak h2.
 */
async function firstHandshake(state: OriginState, signal: AbortSignal): Promise<void> {
  if (!state.handshake) {
    let settle!: () => void;
    const done = new Promise<void>((resolve) => (settle = resolve));
    state.handshake = { done, settle };
    return;
  }
  const { done } = state.handshake;
  await new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    void done.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

function originOf(url: string): string {
  const end = url.indexOf('/', url.indexOf('//') + 2);
  return end === -1 ? url : url.slice(0, end);
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function classifyThrown(err: unknown, signal: AbortSignal, timeoutMs: number, r: Redactor): RrError {
  const code = (err as { code?: unknown })?.code;
  const codeStr = typeof code === 'string' ? code : undefined;
  if (
    (signal.aborted && signal.reason instanceof DeadlineExceeded) ||
    (codeStr && TIMEOUT_CODES.has(codeStr))
  ) {
    return {
      kind: 'timeout',
      retryable: true,
      message: `no answer within ${timeoutMs} ms`,
      ...(codeStr ? { code: codeStr } : {}),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (codeStr === 'UND_ERR_DESTROYED' || codeStr === 'UND_ERR_CLOSED') {
    return { kind: 'closed', retryable: false, message: r(message), code: codeStr };
  }
  // A certificate Node does not trust stays untrusted until someone fixes RR_CA_FILE or the host.
  const certificate = !!codeStr && (CERT_CODES.test(codeStr) || codeStr === 'ERR_TLS_CERT_ALTNAME_INVALID');
  return {
    kind: 'network',
    retryable: !certificate,
    message: r(`request failed: ${message}`),
    ...(codeStr ? { code: codeStr } : {}),
  };
}
