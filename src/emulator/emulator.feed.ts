import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import type { Logger } from '../shared/logger.ts';
import { FeedFailure } from './emulator.feed-parse.ts';
import { readFeedStream, type FeedStreamResult } from './emulator.feed-stream.ts';
import { redactUrl } from '../shared/redact.ts';
import type { PartnerState } from './emulator.state.ts';
import type { BehaviourSettings, FeedImportReport } from './emulator.types.ts';

const MAX_REPORTS = 50;
const MAX_REDIRECTS = 5;
/** No byte for this long ends a pull early; the whole pull has `feedPullTimeoutMs` in any case. */
const IDLE_TIMEOUT_MS = 60_000;
const USER_AGENT = 'rr-emulator-feed-puller/1.0';

// Feed URLs may carry credentials (user:pass@, ?token=): they never reach a report or a log.
export { redactUrl };

function request(
  url: URL,
  headers: Record<string, string>,
  deadline: Deadline,
): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const idle = Math.min(IDLE_TIMEOUT_MS, deadline.ms);
    const req = lib.request(url, { method: 'GET', headers, timeout: idle }, resolve);
    req.on('timeout', () => req.destroy(new FeedFailure('feed.timeout', `no byte for ${idle} ms`)));
    req.on('error', reject);
    deadline.onExpire((err) => req.destroy(err));
    req.end();
  });
}

/**
 * One deadline for a whole pull (redirects, headers and body): a server that drips a byte now
 * and then never times out per read, so without it a pull could last for ever.
 */
interface Deadline {
  ms: number;
  onExpire(cut: (err: FeedFailure) => void): void;
  clear(): void;
}

function startDeadline(ms: number): Deadline {
  const cuts: ((err: FeedFailure) => void)[] = [];
  const timer = setTimeout(() => {
    const err = new FeedFailure('feed.timeout', `the pull took longer than ${ms} ms`);
    for (const cut of cuts) cut(err);
  }, ms);
  timer.unref();
  return { ms, onExpire: (cut) => cuts.push(cut), clear: () => clearTimeout(timer) };
}

interface Download {
  status: number;
  etag: string | null;
  lastModified: string | null;
  /** Set for a 200: the feed streamed into a new catalog. */
  feed?: FeedStreamResult;
}

/** GET with the previous validators, gzip welcome, redirects followed, the body parsed as it streams. */
async function download(
  url: string,
  validators: { etag: string | null; lastModified: string | null } | undefined,
  behaviour: BehaviourSettings,
  firstSeq: number,
): Promise<Download> {
  const headers: Record<string, string> = {
    'accept-encoding': 'gzip',
    'user-agent': USER_AGENT,
    accept: '*/*',
  };
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
  const deadline = startDeadline(behaviour.feedPullTimeoutMs);
  try {
    let target = new URL(url);
    for (let hop = 0; ; hop += 1) {
      if (!/^https?:$/.test(target.protocol))
        throw new FeedFailure('feed.url_invalid', 'feed URL must be http(s)');
      const res = await request(target, headers, deadline);
      deadline.onExpire((err) => res.destroy(err));
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && status !== 304 && location) {
        res.resume();
        if (hop >= MAX_REDIRECTS)
          throw new FeedFailure('feed.redirects', `more than ${MAX_REDIRECTS} redirects`);
        target = new URL(location, target);
        continue;
      }
      const got: Download = {
        status,
        etag: typeof res.headers.etag === 'string' ? res.headers.etag : null,
        lastModified: typeof res.headers['last-modified'] === 'string' ? res.headers['last-modified'] : null,
      };
      if (status !== 200) {
        res.resume();
        return got;
      }
      got.feed = await readFeedStream(res, {
        contentEncodingGzip: /\bgzip\b/i.test(String(res.headers['content-encoding'] ?? '')),
        maxBytes: behaviour.maxFeedBytes,
        required: behaviour.feedRequired,
        firstSeq,
      }).catch((err: unknown) => {
        if (err instanceof FeedFailure) throw err;
        throw new FeedFailure('feed.network', `download failed: ${(err as Error).message}`);
      });
      return got;
    }
  } finally {
    deadline.clear();
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

/** Swaps the streamed catalog in atomically; on any failure the old one stays. */
function importParsed(
  partner: PartnerState,
  report: FeedImportReport,
  feed: FeedStreamResult,
  behaviour: BehaviourSettings,
): void {
  const { parsed } = feed;
  report.gzip ||= feed.gzip;
  report.xmlBytes = feed.xmlBytes;
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
export async function importFeedBody(
  partner: PartnerState,
  body: Buffer,
  behaviour: BehaviourSettings,
  logger: Logger,
): Promise<FeedImportReport> {
  const report = newReport(partner, 'body');
  report.bytes = body.length;
  try {
    const feed = await readFeedStream(Readable.from([body]), {
      contentEncodingGzip: false,
      maxBytes: behaviour.maxFeedBytes,
      required: behaviour.feedRequired,
      firstSeq: partner.catalog.nextSeq,
    });
    importParsed(partner, report, feed, behaviour);
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
    const got = await download(url, partner.feedValidators.get(url), behaviour, partner.catalog.nextSeq);
    report.httpStatus = got.status;
    report.etag = got.etag;
    report.lastModified = got.lastModified;
    if (got.status === 304) {
      report.status = 'not_modified';
    } else if (!got.feed) {
      throw new FeedFailure('feed.http_status', `feed URL answered ${got.status}`);
    } else {
      report.bytes = got.feed.wireBytes;
      importParsed(partner, report, got.feed, behaviour);
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
