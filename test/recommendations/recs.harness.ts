import { startApp, type App } from '../../src/app/app.ts';
import type { CatalogIndexReader } from '../../src/catalog-index/catalog-index.cache.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import {
  createRecommendationRoutes,
  createRecommendationService,
  type RecommendationService,
  type RecommendationServiceOptions,
} from '../../src/recommendations/index.ts';
import type { PopularProducts } from '../../src/recommendations/recommendations.fallback.ts';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import {
  http1Transport,
  importFeed,
  P,
  startTestEmulator,
  track,
  type Transport,
} from '../emulator/emulator.helpers.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, type StoreFixture } from '../feed/store.fixture.ts';

/**
 * A store synced into the published-catalog index (real PostgreSQL), the emulator over real
 * sockets (HTTP/2, TLS) with a catalog of its own (it may be stale: products we dropped, other
 * availability), and the recommendation service, in process and behind the HTTP route.
 */
export interface RecsHarness {
  h: FeedHarness;
  emu: EmulatorHandle;
  emuH1: Transport;
  /** Config with the emulator as Retail Rocket; `over` adds environment variables. */
  config(over?: Record<string, string>): Config;
  /** A service with a client of its own (own cache); `upstreamCalls()` counts calls of its client. */
  service(opts?: {
    env?: Record<string, string>;
    options?: RecommendationServiceOptions;
    popular?: PopularProducts;
    rr?: null;
    index?: CatalogIndexReader;
  }): { service: RecommendationService; upstreamCalls: () => number; rr: RetailRocketClient | null };
  /** The HTTP app serving `service` (closed with the harness). */
  app(service: RecommendationService, config?: Config): Promise<App>;
  faults(f: Record<string, unknown>): Promise<void>;
  track: (type: string, body: Record<string, unknown>) => Promise<unknown>;
  /** Replaces the store and syncs it into the index (forced: a random store may drop most items). */
  sync(store: StoreFixture): Promise<void>;
  close(): Promise<void>;
}

export async function createRecsHarness(emulatorCatalog: string): Promise<RecsHarness> {
  const emu = await startTestEmulator({ limits: { tracking: 0, recommendations: 0, site: 0 } });
  const emuH1 = http1Transport(emu);
  const rrEnv = {
    RR_PARTNER_ID: P.partnerId,
    RR_API_KEY: P.apiKey,
    RR_RECOMMENDATIONS_URL: `${emu.h2Url}/api/3.0/`,
    RR_TRACKING_URL: `${emu.h2Url}/1.0/`,
    RR_CA_FILE: emu.caFile,
  };
  const h = await createFeedHarness(rrEnv);
  const report = await importFeed(emuH1, emulatorCatalog);
  if (report.status !== 200) throw new Error(`emulator feed import: ${report.status} ${report.text}`);
  const clients: RetailRocketClient[] = [];
  const apps: App[] = [];
  const config = (over: Record<string, string> = {}) => loadConfig({ ...h.env, ...over });
  return {
    h,
    emu,
    emuH1,
    config,
    service(opts = {}) {
      const c = config(opts.env);
      let calls = 0;
      const rr =
        opts.rr === null
          ? null
          : createRetailRocketClient({ ...c.rr, http: { keepAliveMs: 2000 } }, { logger: silentLogger });
      if (rr) clients.push(rr);
      const counted = rr && {
        recommendations: {
          get: ((...args: Parameters<RetailRocketClient['recommendations']['get']>) => {
            calls += 1;
            return rr.recommendations.get(...args);
          }) as RetailRocketClient['recommendations']['get'],
        },
      };
      const service = createRecommendationService(
        {
          state: h.db.pool,
          rr: counted,
          config: c,
          logger: silentLogger,
          popular: opts.popular,
          index: opts.index,
        },
        opts.options,
      );
      return { service, upstreamCalls: () => calls, rr };
    },
    async app(service, c = config()) {
      const app = await startApp(
        { config: c, logger: silentLogger },
        { port: 0, host: '127.0.0.1', routes: createRecommendationRoutes(service, c) },
      );
      apps.push(app);
      return app;
    },
    async faults(f) {
      const res = await fetch(`${emu.httpUrl}/__emulator/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(f),
      });
      if (!res.ok) throw new Error(`faults: ${res.status} ${await res.text()}`);
    },
    track: (type, body) => track(emuH1, type, body),
    async sync(store) {
      await createStore(h.db.pool, store);
      await runSyncJob(h.deps, { force: true });
    },
    async close() {
      await Promise.all(apps.map((a) => a.close({ timeoutMs: 1000 })));
      await Promise.all(clients.map((c) => c.close()));
      await emu.stop();
      await h.close();
    },
  };
}
