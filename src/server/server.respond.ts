import type http from 'node:http';

/**
 * An error a route throws to answer with a given status. `code` is stable (clients and the
 * README rely on it); `message` is for people and never carries secrets or stack traces.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers?: Record<string, string>;

  constructor(status: number, code: string, message: string, headers?: Record<string, string>) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

/** Answer with a small JSON body. On HEAD, Node drops the body and keeps the headers. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(data)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(data);
}

/** The error body every route uses: `{ "error": { "code", "message" } }`. */
export function sendError(
  res: http.ServerResponse,
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): void {
  sendJson(res, status, { error: { code, message } }, headers);
}

/** The request path without the query string: what logs show (a `?token=` must never reach them). */
export function pathOf(req: http.IncomingMessage): string {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}
