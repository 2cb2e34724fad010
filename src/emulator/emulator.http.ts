import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';

/** Both servers use the compatibility API, so one app serves HTTP/2 and HTTP/1.1 alike. */
export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

export const JSON_TYPE = 'application/json; charset=utf-8';

/** A request as the routes see it: parsed URL, body bytes, and the response helpers. */
export interface Exchange {
  method: string;
  url: URL;
  /** Path without the query, e.g. `/1.0/view`. */
  path: string;
  headers: Req['headers'];
  body: Buffer;
  req: Req;
  res: Res;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

export const notFound = (path: string) =>
  new HttpError(404, { error: 'not_found', message: `no resource at ${path}` });

export const badRequest = (field: string, rule: string, message: string) =>
  new HttpError(400, { error: 'validation', field, rule, message, issues: [{ field, rule, message }] });

/** True when nobody is listening any more (the socket or the HTTP/2 stream is gone). */
export function clientGone(res: Res): boolean {
  if ('stream' in res && res.stream) return res.stream.destroyed || res.stream.closed;
  const r = res as ServerResponse;
  return r.destroyed || Boolean(r.socket?.destroyed);
}

export function sendJson(
  res: Res,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || clientGone(res)) return;
  // 204/304 carry no body (a test may force any status).
  const bodyless = status < 200 || status === 204 || status === 304;
  const text = body === undefined || bodyless ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(bodyless ? {} : { 'content-type': JSON_TYPE, 'content-length': String(Buffer.byteLength(text)) }),
    ...headers,
  });
  if (bodyless) res.end();
  else res.end(text);
}

/** Reads the whole body, refusing more than `max` bytes (413 is not in Retail Rocket's list: 400). */
export function readBody(req: Req, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        reject(badRequest('body', 'max_bytes', `request body exceeds ${max} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
    });
  });
}

/**
 * Ends the exchange without an answer: HTTP/2 resets only this stream (other streams on the
 * connection live on), HTTP/1.1 destroys the socket.
 */
export function dropExchange(req: Req, res: Res): void {
  if ('stream' in req && req.stream) {
    req.stream.close(h2constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  (res as ServerResponse).socket?.destroy();
  (req as IncomingMessage).socket.destroy();
}

/** Parses a JSON body, naming the failure as a 400 the way the validation errors do. */
export function parseJsonBody(ex: Exchange, strict: boolean): unknown {
  const type = String(ex.headers['content-type'] ?? '');
  if (strict && !/^application\/json\b/i.test(type)) {
    throw badRequest('content-type', 'application_json', 'content-type must be application/json');
  }
  if (ex.body.length === 0) throw badRequest('body', 'json', 'request body is empty (JSON expected)');
  try {
    return JSON.parse(ex.body.toString('utf8')) as unknown;
  } catch {
    throw badRequest('body', 'json', 'request body is not valid JSON');
  }
}

/** Query parameters are matched case-insensitively by name (`apiKey` and `apikey` alike). */
export function queryParam(url: URL, name: string): string | null {
  const direct = url.searchParams.get(name);
  if (direct !== null) return direct;
  const lower = name.toLowerCase();
  for (const [k, v] of url.searchParams) if (k.toLowerCase() === lower) return v;
  return null;
}

/** All values of a repeated parameter, each also split on commas (`categoryPaths` comes both ways). */
export function queryList(url: URL, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of url.searchParams) {
    if (k.toLowerCase() !== lower) continue;
    for (const part of v.split(',')) if (part.trim() !== '') out.push(part.trim());
  }
  return out;
}
