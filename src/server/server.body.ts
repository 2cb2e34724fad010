import type http from 'node:http';
import { HttpError } from './server.respond.ts';

export interface JsonBodyOptions {
  /** Bytes at most; a larger body is refused with 413 without being read into memory. */
  maxBytes: number;
  /** Error code of a body that is not JSON (e.g. `events.bad_json`). */
  badJsonCode: string;
}

/** 413 and close the connection: the rest of the body is never read. */
const tooLarge = (max: number) =>
  new HttpError(413, 'http.too_large', `The request body is over the limit of ${max} bytes.`, {
    connection: 'close',
  });

/**
 * A JSON request body: `Content-Type: application/json` (415 otherwise), at most `maxBytes`
 * (checked on Content-Length first, then counted while reading, so a chunked body cannot grow
 * past it either), parsed (400 `badJsonCode` when it is not JSON).
 */
export async function readJsonBody(req: http.IncomingMessage, opts: JsonBodyOptions): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(
      415,
      'http.unsupported_media_type',
      `Send the body as JSON with Content-Type: application/json (got ${type ? JSON.stringify(type) : 'none'}).`,
    );
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > opts.maxBytes) throw tooLarge(opts.maxBytes);

  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBytes) {
        cleanup();
        req.pause();
        reject(tooLarge(opts.maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => {
      cleanup();
      reject(new HttpError(400, 'http.bad_request', 'The request body was cut short.'));
    };
    function cleanup() {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });

  const text = Buffer.concat(chunks, size).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, opts.badJsonCode, `The body is not valid JSON: ${(err as Error).message}.`);
  }
}
