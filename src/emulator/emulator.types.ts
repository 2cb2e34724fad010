import type { Logger } from '../shared/logger.ts';

/** One Retail Rocket account the emulator knows: `partnerId` is public, `apiKey` secret. */
export interface PartnerCredentials {
  partnerId: string;
  apiKey: string;
}

export interface FaultSettings {
  /** Fixed added latency (default 0). */
  delayMs: number;
  /** Plus a random 0..jitterMs. */
  jitterMs: number;
  /** 0..1: fraction answered with forcedStatus (or 500). */
  errorRate: number;
  /** Answer every request (after the delay) with this status. */
  forcedStatus: number | null;
  /** 0..1: fraction whose connection (HTTP/1.1) or stream (HTTP/2) is destroyed without an answer. */
  dropRate: number;
  /** Retry-After (seconds) sent with an injected 429 or 503 (default 1). */
  retryAfterSeconds: number;
  /** Optional path prefix the faults apply to (default: every Retail Rocket path, never `/__emulator/`). */
  paths?: string;
}

/** Requests per second per partner; 0 switches a limit off. */
export interface RateLimits {
  tracking: number;
  recommendations: number;
  /** Every keyed or partner-scoped request of a partner counts here too. */
  site: number;
}

/** INFERRED behaviours of Retail Rocket, each a switch (see README "Emulator"). */
export interface BehaviourSettings {
  /** Product API calls without `apiKey` are accepted (public SDK-style posts). Default true. */
  productApiAllowMissingKey: boolean;
  /** Feed tags an offer must carry or it is ignored. `available` missing defaults to true otherwise. */
  feedRequired: FeedRequiredTag[];
  /** A feed with no accepted offer is refused (the previous catalog stays). Default true. */
  feedRejectEmpty: boolean;
  /** Maximum feed size in bytes, as received and decompressed (default 100 MiB). */
  maxFeedBytes: number;
  /** Deadline of one whole feed pull: redirects, headers and body (default 300000 = 5 min). */
  feedPullTimeoutMs: number;
  /** Products without a `<stock id>` block for the requested stock: base availability or unavailable. */
  stockMissingMeans: 'base' | 'unavailable';
  /** Results per recommendation call (default 10) and per-resource overrides (`"popular"` etc.). */
  recommendationCount: number;
  recommendationCounts: Record<string, number>;
  /** Cache-Control of cacheable and of real-time (personal) algorithms. */
  cacheControlCacheable: string;
  cacheControlRealtime: string;
  /** Accessory categories: category id -> accessory category ids (else co-purchases from other categories). */
  accessoryCategories: Record<string, string[]>;
  /** Events kept per partner before the oldest are dropped (counted). Default 200000. */
  maxEventsPerPartner: number;
  /** Largest request body in bytes (default 5 MiB). */
  maxBodyBytes: number;
  /** The sliding window the rate limits count over (default 1000 ms). */
  rateWindowMs: number;
}

export type FeedRequiredTag = 'url' | 'price' | 'categoryId' | 'picture' | 'name' | 'available';

export interface EmulatorOptions {
  /** Address to listen on (default 127.0.0.1). Anything but loopback needs `adminToken`. */
  host?: string;
  /**
   * When set, `/__emulator/*` (except `/__emulator/health`) needs `Authorization: Bearer <token>`.
   * At least 16 characters; never logged.
   */
  adminToken?: string;
  port?: number;
  httpPort?: number;
  partners?: PartnerCredentials[];
  feedUrl?: string;
  feedIntervalSeconds?: number;
  dataDir?: string;
  logger?: Logger;
  faults?: Partial<FaultSettings>;
  limits?: Partial<RateLimits>;
  strict?: boolean;
  /** Emulator-only switches for INFERRED behaviour. */
  behaviour?: Partial<BehaviourSettings>;
}

export interface FeedIgnoredOffer {
  offerId: string | null;
  reason: string;
  detail?: string;
}

export interface FeedCounters {
  pulls: number;
  imported: number;
  notModified: number;
  failed: number;
}

export interface FeedImportReport {
  partnerId: string;
  /** The URL pulled, or `body` for XML posted to the admin API. */
  source: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** imported: catalog replaced; not_modified: 304; failed: previous catalog kept. */
  status: 'imported' | 'not_modified' | 'failed';
  httpStatus: number | null;
  /** Bytes on the wire and after decompression. */
  bytes: number;
  xmlBytes: number;
  gzip: boolean;
  etag: string | null;
  lastModified: string | null;
  offersAccepted: number;
  offersIgnored: number;
  /** First 1000 ignored offers with their reason; `ignoredByReason` counts all of them. */
  ignored: FeedIgnoredOffer[];
  ignoredByReason: Record<string, number>;
  /** Kept offers/categories with something dropped or defaulted. */
  warningsByReason: Record<string, number>;
  categories: number;
  stocks: string[];
  groups: number;
  /** Set when status is failed: a stable code such as feed.malformed, feed.http_status. */
  error: { code: string; message: string } | null;
  /** Running totals for this partner's feed since start/reset (304 answers counted here). */
  counters: FeedCounters;
}

export interface EmulatorHandle {
  h2Url: string;
  httpUrl: string;
  caFile: string;
  setFaults(f: Partial<FaultSettings>): void;
  pullFeed(): Promise<FeedImportReport>;
  reset(): void;
  stop(): Promise<void>;
}
