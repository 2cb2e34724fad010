import http from 'node:http';
import https from 'node:https';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Logger } from '../shared/logger.ts';
import { redactUrl } from '../shared/redact.ts';
import { decodeFeedBytes, FeedFailure, parseFeed } from './emulator.feed-parse.ts';
import type { PartnerState } from './emulator.state.ts';
import type { BehaviourSettings, FeedImportReport } from './emulator.types.ts';

const MAX_REPORTS = 50;
const MAX_REDIRECTS = 5;
const PULL_TIMEOUT_MS = 60_000;
const USER_AGENT = 'rr-emulator-feed-puller/1.0';

// Feed URLs may carry credentials (user:pass@, ?token=): they never reach a report or a log.
export { redactUrl };

interface Download {
  status: number;
  bytes: number;
  body: Buffer;
  gzip: boolean;
  etag: string | null;
  lastModified: string | null;
}

/** Counts bytes through the pipeline and fails past the cap, so a huge feed never fills memory. */
function capBytes(max: number, counter: { n: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      counter.n += chunk.length;
      if (counter.n > max) cb(new FeedFailure('feed.too_large', `feed is larger than ${max} bytes`));
      else cb(null, chunk);
    },
  });
}

function request(url: URL, headers: Record<string, string>): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, { method: 'GET', headers, timeout: PULL_TIMEOUT_MS }, resolve);
    req.on('timeout', () =>
      req.destroy(new FeedFailure('feed.timeout', `no answer within ${PULL_TIMEOUT_MS} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

/** GET with the previous validators, gzip welcome, redirects followed, body streamed under a cap. */
async function download(
  url: string,
  validators: { etag: string | null; lastModified: string | null } | undefined,
  maxBytes: number,
): Promise<Download> {
  const headers: Record<string, string> = {
    'accept-encoding': 'gzip',
    'user-agent': USER_AGENT,
    accept: '*/*',
  };
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
  let target = new URL(url);
  for (let hop = 0; ; hop += 1) {
    if (!/^https?:$/.test(target.protocol))
      throw new FeedFailure('feed.url_invalid', 'feed URL must be http(s)');
    const res = await request(target, headers);
    const location = res.headers.location;
    if (
      res.statusCode &&
      res.statusCode >= 300 &&
      res.statusCode < 400 &&
      res.statusCode !== 304 &&
      location
    ) {
      res.resume();
      if (hop >= MAX_REDIRECTS)
        throw new FeedFailure('feed.redirects', `more than ${MAX_REDIRECTS} redirects`);
      target = new URL(location, target);
      continue;
    }
    const wire = { n: 0 };
    const plain = { n: 0 };
    const chunks: Buffer[] = [];
    const gzip = /\bgzip\b/i.test(String(res.headers['content-encoding'] ?? ''));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const stages: (Readable | Transform)[] = [res, capBytes(maxBytes, wire)];
    if (gzip) stages.push(createGunzip(), capBytes(maxBytes, plain));
    try {
      await pipeline([...stages, sink]);
    } catch (err) {
      if (err instanceof FeedFailure) throw err;
      throw new FeedFailure(
        gzip ? 'feed.gzip_invalid' : 'feed.network',
        `download failed: ${(err as Error).message}`,
      );
    }
    return {
      status: res.statusCode ?? 0,
      bytes: wire.n,
      body: Buffer.concat(chunks),
      gzip,
      etag: typeof res.headers.etag === 'string' ? res.headers.etag : null,
      lastModified: typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : null,
    };
  }
}

/** A `.gz` file served as-is (no Content-Encoding) is unpacked too. */
function gunzipIfRaw(body: Buffer, maxBytes: number): { body: Buffer; unpacked: boolean } {
  if (body[0] !== 0x1f || body[1] !== 0x8b) return { body, unpacked: false };
  try {
    return { body: gunzipSync(body, { maxOutputLength: maxBytes }), unpacked: true };
  } catch (err) {
    if (err instanceof RangeError)
      throw new FeedFailure('feed.too_large', `feed is larger than ${maxBytes} bytes`);
    throw new FeedFailure('feed.gzip_invalid', `gzip body could not be unpacked: ${(err as Error).message}`);
  }
}

function newReport(partner: PartnerState, source: string): FeedImportReport {
  return {
    partnerId: partner.partnerId,
    source,
    startedAt: new Date().toISOString(),
    finishedAt: '',
    durationMs: 0,
    status: 'failed',
    httpStatus: null,
    bytes: 0,
    xmlBytes: 0,
    gzip: false,
    etag: null,
    lastModified: null,
    offersAccepted: 0,
    offersIgnored: 0,
    ignored: [],
    ignoredByReason: {},
    warningsByReason: {},
    categories: 0,
    stocks: [],
    groups: 0,
    error: null,
    counters: partner.feedCounters,
  };
}

/** Parses bytes into a catalog and swaps it in atomically; on any failure the old one stays. */
function importBytes(
  partner: PartnerState,
  report: FeedImportReport,
  body: Buffer,
  behaviour: BehaviourSettings,
): void {
  const raw = gunzipIfRaw(body, behaviour.maxFeedBytes);
  report.gzip ||= raw.unpacked;
  report.xmlBytes = raw.body.length;
  if (raw.body.length > behaviour.maxFeedBytes) {
    throw new FeedFailure('feed.too_large', `feed is larger than ${behaviour.maxFeedBytes} bytes`);
  }
  const parsed = parseFeed(decodeFeedBytes(raw.body), behaviour.feedRequired, partner.catalog.nextSeq);
  report.offersAccepted = parsed.accepted;
  report.offersIgnored = Object.values(parsed.ignoredByReason).reduce((a, b) => a + b, 0);
  report.ignored = parsed.ignored;
  report.ignoredByReason = parsed.ignoredByReason;
  report.warningsByReason = parsed.warningsByReason;
  report.categories = parsed.catalog.categories.size;
  report.stocks = [...parsed.catalog.stocks].sort();
  report.groups = new Set(
    [...parsed.catalog.items.values()].map((i) => i.groupId).filter((g) => g !== null),
  ).size;
  if (parsed.accepted === 0 && behaviour.feedRejectEmpty) {
    throw new FeedFailure('feed.empty', 'the feed has no accepted offer; the previous catalog is kept');
  }
  const next = parsed.catalog;
  for (const id of partner.catalog.items.keys()) if (!next.items.has(id)) next.removed.add(id);
  for (const id of partner.catalog.removed) if (!next.items.has(id)) next.removed.add(id);
  partner.catalog = next;
  partner.version += 1;
  report.status = 'imported';
}

function finish(partner: PartnerState, report: FeedImportReport, logger: Logger): FeedImportReport {
  report.finishedAt = new Date().toISOString();
  report.durationMs = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  partner.feedCounters.pulls += 1;
  if (report.status === 'imported') partner.feedCounters.imported += 1;
  else if (report.status === 'not_modified') partner.feedCounters.notModified += 1;
  else partner.feedCounters.failed += 1;
  report.counters = { ...partner.feedCounters };
  partner.feedReports.push(report);
  if (partner.feedReports.length > MAX_REPORTS) partner.feedReports.shift();
  const { ignored: _ignored, ...summary } = report;
  logger[report.status === 'failed' ? 'warn' : 'info']({ feed: summary }, `feed ${report.status}`);
  return report;
}

function fail(report: FeedImportReport, err: unknown): void {
  report.status = 'failed';
  report.error =
    err instanceof FeedFailure
      ? { code: err.code, message: err.message }
      : { code: 'feed.network', message: err instanceof Error ? err.message : String(err) };
}

/** Imports XML (or gzip) bytes given directly, e.g. posted to `POST /__emulator/feed`. */
export function importFeedBody(
  partner: PartnerState,
  body: Buffer,
  behaviour: BehaviourSettings,
  logger: Logger,
): FeedImportReport {
  const report = newReport(partner, 'body');
  report.bytes = body.length;
  try {
    importBytes(partner, report, body, behaviour);
  } catch (err) {
    fail(report, err);
  }
  return finish(partner, report, logger);
}

/** Pulls `url` like Retail Rocket does (§3.1.3) and imports it when it changed. */
export async function pullFeedUrl(
  partner: PartnerState,
  url: string,
  behaviour: BehaviourSettings,
  logger: Logger,
): Promise<FeedImportReport> {
  const report = newReport(partner, redactUrl(url));
  try {
    const got = await download(url, partner.feedValidators.get(url), behaviour.maxFeedBytes);
    report.httpStatus = got.status;
    report.bytes = got.bytes;
    report.gzip = got.gzip;
    report.etag = got.etag;
    report.lastModified = got.lastModified;
    if (got.status === 304) {
      report.status = 'not_modified';
    } else if (got.status !== 200) {
      throw new FeedFailure('feed.http_status', `feed URL answered ${got.status}`);
    } else {
      importBytes(partner, report, got.body, behaviour);
      // Validators are kept only after a successful import, so a refused feed is fetched whole again.
      partner.feedValidators.set(url, { etag: got.etag, lastModified: got.lastModified });
    }
  } catch (err) {
    fail(report, err);
  }
  return finish(partner, report, logger);
}

const inFlight = new WeakMap<PartnerState, { url: string; promise: Promise<FeedImportReport> }>();

/** Pulls never overlap per partner and URL: a second caller shares the running pull. */
export function pullFeedOnce(
  partner: PartnerState,
  url: string,
  behaviour: BehaviourSettings,
  logger: Logger,
): Promise<FeedImportReport> {
  const running = inFlight.get(partner);
  if (running && running.url === url) return running.promise;
  const promise = pullFeedUrl(partner, url, behaviour, logger).finally(() => {
    if (inFlight.get(partner)?.promise === promise) inFlight.delete(partner);
  });
  inFlight.set(partner, { url, promise });
  return promise;
}
