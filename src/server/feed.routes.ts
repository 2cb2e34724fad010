import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config.ts';
import { FEED_FILES, type CurrentFeed } from '../feed/feed.layout.ts';
import type { Logger } from '../shared/logger.ts';
import { FEED_AUTH_CHALLENGE, hasFeedToken } from './feed.auth.ts';
import { acceptsGzip, isNotModified } from './feed.conditional.ts';
import type { PullRegistry } from './feed.pulls.ts';
import type { FeedSource } from './feed.source.ts';
import { pathOf, sendError } from './server.respond.ts';
import type { Route } from './server.route.ts';

export interface FeedRouteDeps {
  config: Config;
  logger: Logger;
  source: FeedSource;
  pulls: PullRegistry;
}

type FeedPath = '/feeds/catalog.xml' | '/feeds/catalog.xml.gz' | '/feeds/catalog.report.json';
export const FEED_PATHS: readonly FeedPath[] = [
  '/feeds/catalog.xml',
  '/feeds/catalog.xml.gz',
  '/feeds/catalog.report.json',
];

/** What one request gets: a file of the version resolved for it, and the headers describing it. */
interface Representation {
  file: string;
  etag: string;
  headers: Record<string, string>;
}

function representation(feedPath: FeedPath, req: http.IncomingMessage, feed: CurrentFeed): Representation {
  const m = feed.manifest;
  if (feedPath === '/feeds/catalog.xml.gz')
    return { file: FEED_FILES.gz, etag: `"${m.gzSha256}"`, headers: { 'content-type': 'application/gzip' } };
  if (feedPath === '/feeds/catalog.report.json') {
    // A version's report never changes, so a tag derived from the version is a strong validator.
    const tag = createHash('sha256').update(`report\0${m.version}\0${m.sha256}`).digest('hex');
    return {
      file: FEED_FILES.report,
      etag: `"${tag}"`,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    };
  }
  const xmlType = { 'content-type': 'application/xml; charset=utf-8', vary: 'Accept-Encoding' };
  // Compressed once by the publisher: serving the .gz bytes costs no CPU per request.
  if (acceptsGzip(req.headers['accept-encoding']))
    return {
      file: FEED_FILES.gz,
      etag: `"${m.gzSha256}"`,
      headers: { ...xmlType, 'content-encoding': 'gzip' },
    };
  return { file: FEED_FILES.xml, etag: `"${m.sha256}"`, headers: xmlType };
}

function serveFeedFile(feedPath: FeedPath, deps: FeedRouteDeps) {
  const token = deps.config.feedToken;
  return async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = performance.now();
    const at = new Date().toISOString();
    // Read now: once the client has hung up, the socket no longer knows its peer.
    const remoteAddress = req.socket.remoteAddress ?? null;
    const userAgent = req.headers['user-agent'] ?? '';
    let version: string | null = null;
    let bytes = 0;
    let interrupted: string | undefined;
    /** Logs the request; a feed answer (200, 304, 499) also goes to the pull history. */
    const done = (status: number, isPull = false) => {
      const outcome = { status, bytes, version, ...(interrupted ? { interrupted } : {}) };
      deps.logger.info(
        {
          remoteAddress,
          userAgent,
          method: req.method,
          path: pathOf(req),
          ...outcome,
          ms: Math.round(performance.now() - started),
        },
        'feed request',
      );
      if (isPull) deps.pulls.record({ userAgent, remoteAddress, at, path: pathOf(req), ...outcome });
    };

    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (token !== undefined && !hasFeedToken(req, query, token)) {
      sendError(res, 401, 'feed.unauthorized', 'This feed needs its access token (?token= or basic auth).', {
        'www-authenticate': FEED_AUTH_CHALLENGE,
      });
      return done(401);
    }

    // `current` is resolved once: the headers and the bytes are of that version, whatever swaps
    // happen meanwhile (the open fd keeps the old file readable even if its version is swept).
    // Only if the version vanished between readlink and open (a swap plus a sweep) do we retry.
    for (let attempt = 0; ; attempt++) {
      const feed = await deps.source.current();
      if (!feed) {
        sendError(
          res,
          503,
          'feed.not_published',
          'No feed has been published yet: run `rr-sync feed` first.',
        );
        return done(503);
      }
      version = feed.manifest.version;
      const rep = representation(feedPath, req, feed);
      const headers: Record<string, string> = {
        ...rep.headers,
        etag: rep.etag,
        'last-modified': new Date(feed.manifest.publishedAt).toUTCString(),
        'cache-control': 'no-cache',
      };
      if (isNotModified(req, rep.etag, Date.parse(feed.manifest.publishedAt))) {
        const { 'content-type': _type, 'content-encoding': _enc, ...notModified } = headers;
        res.writeHead(304, notModified);
        res.end();
        return done(304, true);
      }
      let fd: FileHandle;
      try {
        fd = await open(path.join(feed.dir, rep.file), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt === 0) continue;
        throw err;
      }
      try {
        const { size } = await fd.stat();
        res.writeHead(200, { ...headers, 'content-length': String(size) });
        if (req.method === 'HEAD' || size === 0) {
          res.end();
          return done(200, true);
        }
        // `end` stops the stream right after the last byte. Without it the stream asked the file
        // for more, and res.end() waited for that read: a client that already had every byte and
        // hung up meanwhile (curl does) was logged as interrupted.
        const stream = fd.createReadStream({ autoClose: false, start: 0, end: size - 1 });
        // A client that stops reading: nothing moved for HTTP_STALL_TIMEOUT_MS (server.limits.ts).
        res.once('timeout', () => {
          interrupted = 'stalled';
          res.destroy();
        });
        try {
          await pipeline(stream, res);
        } catch (err) {
          interrupted ??= (err as NodeJS.ErrnoException).code ?? 'error';
        }
        bytes = stream.bytesRead;
        // 'finish' means every byte went to the socket; anything else is a download cut short.
        if (res.writableFinished) interrupted = undefined;
        return done(res.writableFinished ? 200 : 499, true);
      } finally {
        await fd.close();
      }
    }
  };
}

/** `GET|HEAD /feeds/catalog.xml`, `.xml.gz` and `/feeds/catalog.report.json`. */
export function createFeedRoutes(deps: FeedRouteDeps): Route[] {
  return FEED_PATHS.flatMap((feedPath) => {
    const handle = serveFeedFile(feedPath, deps);
    return [
      { method: 'GET' as const, path: feedPath, handle },
      { method: 'HEAD' as const, path: feedPath, handle },
    ];
  });
}
