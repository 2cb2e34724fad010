/**
 * A local stand-in for Retail Rocket: the same paths, auth, validation and status codes over real
 * HTTP/2 (TLS) and HTTP/1.1 sockets, plus fault injection and introspection under /__emulator/.
 */
import { AppError } from '../shared/errors.ts';
import { silentLogger } from '../shared/logger.ts';
import type { AppContext } from './emulator.context.ts';
import { credentialsProblem, isLoopbackHost } from './emulator.credentials.ts';
import { DEFAULT_FAULTS, mergeFaults } from './emulator.faults.ts';
import { pullFeedOnce, redactUrl } from './emulator.feed.ts';
import { HttpError } from './emulator.http.ts';
import { DEFAULT_LIMITS, mergeLimits, RateLimiter } from './emulator.limits.ts';
import { startServers } from './emulator.server.ts';
import { EmulatorState, type PartnerState } from './emulator.state.ts';
import { createTlsMaterial } from './emulator.tls.ts';
import type {
  BehaviourSettings,
  EmulatorHandle,
  EmulatorOptions,
  FaultSettings,
  FeedImportReport,
  RateLimits,
} from './emulator.types.ts';

export type {
  BehaviourSettings,
  EmulatorHandle,
  EmulatorOptions,
  FaultSettings,
  FeedCounters,
  FeedIgnoredOffer,
  FeedImportReport,
  FeedRequiredTag,
  PartnerCredentials,
  RateLimits,
} from './emulator.types.ts';
export { DEFAULT_FAULTS } from './emulator.faults.ts';
export { DEFAULT_LIMITS } from './emulator.limits.ts';

/** Public demo data: safe to print and to commit. */
export const DEMO_PARTNER = { partnerId: 'a1b2c3d4e5f6a7b8c9d0e1f2', apiKey: 'f0e1d2c3b4a5968778695a4b' };

export const DEFAULT_BEHAVIOUR: BehaviourSettings = {
  productApiAllowMissingKey: true,
  feedRequired: ['url', 'price', 'categoryId', 'picture', 'name'],
  feedRejectEmpty: true,
  maxFeedBytes: 100 * 1024 * 1024,
  feedPullTimeoutMs: 300_000,
  stockMissingMeans: 'base',
  recommendationCount: 10,
  recommendationCounts: {},
  cacheControlCacheable: 'public, max-age=3600',
  cacheControlRealtime: 'private, no-store',
  accessoryCategories: {},
  maxEventsPerPartner: 200_000,
  maxBodyBytes: 5 * 1024 * 1024,
  rateWindowMs: 1000,
};

function invalid(message: string): AppError {
  return new AppError('usage.invalid', `emulator: ${message}`);
}

/** Start-time settings through the same validation as the admin API (a bad value fails loudly). */
function checked<T>(merge: () => T, what: string): T {
  try {
    return merge();
  } catch (err) {
    throw invalid(`${what}: ${err instanceof HttpError ? err.message : String(err)}`);
  }
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const host = options.host ?? '127.0.0.1';
  const partners = options.partners ?? [DEMO_PARTNER];
  if (partners.length === 0) throw invalid('at least one partner is required');
  const apiKeys = new Map<string, string>();
  for (const p of partners) {
    if (!p.partnerId || !p.apiKey) throw invalid('every partner needs a partnerId and an apiKey');
    const problem = credentialsProblem(p);
    if (problem) throw invalid(problem);
    if (apiKeys.has(p.partnerId)) throw invalid(`partner ${p.partnerId} is given twice`);
    apiKeys.set(p.partnerId, p.apiKey);
  }
  if (options.feedUrl !== undefined && !(URL.canParse(options.feedUrl) && /^https?:/.test(options.feedUrl))) {
    throw invalid('feedUrl must be an http(s) URL');
  }
  if (options.adminToken !== undefined && options.adminToken.length < 16)
    throw invalid('adminToken must be at least 16 characters');
  if (!isLoopbackHost(host) && options.adminToken === undefined) {
    throw invalid(
      `listening on ${host} (not loopback) would let anyone who can reach it read and reset the emulator through /__emulator/: set an admin token (--admin-token / EMULATOR_ADMIN_TOKEN), or listen on 127.0.0.1`,
    );
  }
  const interval = options.feedIntervalSeconds ?? 900;
  if (!Number.isFinite(interval) || interval < 0) throw invalid('feedIntervalSeconds must be >= 0');
  const logger = (options.logger ?? silentLogger).child({ component: 'emulator' });
  const behaviour: BehaviourSettings = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const startFaults: FaultSettings = checked(
    () => mergeFaults(DEFAULT_FAULTS, options.faults ?? {}),
    'faults',
  );
  const startLimits: RateLimits = checked(() => mergeLimits(DEFAULT_LIMITS, options.limits ?? {}), 'limits');
  const state = new EmulatorState(apiKeys, behaviour.maxEventsPerPartner);
  const limiter = new RateLimiter(startLimits, behaviour.rateWindowMs);
  const defaultPartnerId = (partners[0] as { partnerId: string }).partnerId;
  const ctx: AppContext = {
    state,
    strict: options.strict ?? true,
    behaviour,
    limiter,
    logger,
    faults: startFaults,
    feedUrl: options.feedUrl,
    defaultPartnerId,
    adminToken: options.adminToken,
    reset: () => {
      state.reset();
      limiter.reset();
      limiter.limits = startLimits;
      ctx.faults = startFaults;
    },
  };

  const tls = await createTlsMaterial(options.dataDir, host);
  const servers = await startServers(ctx, tls, host, {
    h2: options.port ?? 9443,
    http: options.httpPort ?? 9080,
  });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const h2Url = `https://${urlHost}:${servers.h2Port}`;
  const httpUrl = `http://${urlHost}:${servers.httpPort}`;

  const pullFeed = (): Promise<FeedImportReport> => {
    if (!options.feedUrl) return Promise.reject(invalid('no feedUrl was configured'));
    return pullFeedOnce(state.partner(defaultPartnerId) as PartnerState, options.feedUrl, behaviour, logger);
  };
  let timer: NodeJS.Timeout | undefined;
  if (options.feedUrl && interval > 0) {
    const tick = () => void pullFeed().catch(() => undefined);
    tick();
    timer = setInterval(tick, interval * 1000);
    timer.unref();
  }
  logger.info(
    {
      h2Url,
      httpUrl,
      caFile: tls.caFile,
      partners: partners.map((p) => p.partnerId),
      feedUrl: options.feedUrl ? redactUrl(options.feedUrl) : null,
    },
    'emulator listening',
  );

  let stopped: Promise<void> | undefined;
  return {
    h2Url,
    httpUrl,
    caFile: tls.caFile,
    setFaults(f) {
      ctx.faults = checked(() => mergeFaults(ctx.faults, f), 'faults');
    },
    pullFeed,
    reset: ctx.reset,
    stop() {
      stopped ??= (async () => {
        if (timer) clearInterval(timer);
        await servers.close();
        logger.info({}, 'emulator stopped');
      })();
      return stopped;
    },
  };
}
