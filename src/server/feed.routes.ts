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
import type { Route } from './server.ts';

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
    let version: string | null = null;
    let bytes = 0;
    let interrupted: string | undefined;
    const done = (status: number) => {
      const userAgent = req.headers['user-agent'] ?? '';
      deps.logger.info(
        {
          remoteAddress: req.socket.remoteAddress,
          userAgent,
          method: req.method,
          path: pathOf(req),
          status,
          bytes,
          ms: Math.round(performance.now() - started),
          version,
          ...(interrupted ? { interrupted } : {}),
        },
        'feed request',
      );
    };
    // Recorded when the answer starts (not when the last byte left) so healthz shows request order.
    const pulled = (status: number) =>
      deps.pulls.record({
        userAgent: req.headers['user-agent'] ?? '',
        at: new Date().toISOString(),
        path: pathOf(req),
        status,
        version,
      });

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
        pulled(304);
        return done(304);
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
        pulled(200);
        if (req.method === 'HEAD') {
          res.end();
          return done(200);
        }
        const stream = fd.createReadStream({ autoClose: false });
        try {
          await pipeline(stream, res);
        } catch (err) {
          // Usually the client went away mid-download; nothing left to answer, the log shows it.
          interrupted = (err as NodeJS.ErrnoException).code ?? 'error';
        }
        bytes = stream.bytesRead;
        return done(res.writableFinished ? 200 : 499);
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
