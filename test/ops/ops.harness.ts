import { startApp, type App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { runCatalogJob } from '../../src/pipeline/catalog.job.ts';
import type { Logger } from '../../src/shared/logger.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { createFeedHarness, type FeedHarness } from '../feed/feed.harness.ts';
import { createStore, product, type ProductRow } from '../feed/store.fixture.ts';

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef';

/** Products with two kinds of rejected rows (a bad price, a missing name), for the report figures. */
export function storeProducts(n = 6, over: Record<string, Partial<ProductRow>> = {}): ProductRow[] {
  const rows = Array.from({ length: n }, (_, i) => product(String(100 + i), over[String(100 + i)] ?? {}));
  rows.push(
    product('900', { price: 'ten' }),
    product('901', { price: '-1' }),
    product('902', { name: null }),
  );
  return rows;
}

export interface OpsHarness {
  h: FeedHarness;
  app: App;
  url: string;
  logger: Logger;
  feed(): ReturnType<typeof runCatalogJob<never>>;
  sync(): ReturnType<typeof runSyncJob>;
  setProducts(rows: ProductRow[]): Promise<void>;
  /** A dead letter as the pusher writes it. */
  addDeadLetter(itemId: string): Promise<string>;
  close(): Promise<void>;
}

export async function createOpsHarness(
  env: Record<string, string> = {},
  options: {
    logger?: Logger;
    ops?: NonNullable<Parameters<typeof startApp>[1]>['ops'];
    connect?: boolean;
  } = {},
): Promise<OpsHarness> {
  const h = await createFeedHarness({ ADMIN_TOKEN, FEED_KEEP_VERSIONS: '5', ...env });
  await createStore(h.db.pool, { products: storeProducts() });
  const logger = options.logger ?? silentLogger;
  const config = loadConfig(h.env);
  h.config = config;
  h.deps = { ...h.deps, config };
  const app = await startApp(
    { config, logger },
    { port: 0, host: '127.0.0.1', ops: { snapshotTtlMs: 0, ...options.ops } },
  );
  if (options.connect ?? true) app.ops.connect({ catalog: h.db.pool, state: h.db.pool });
  return {
    h,
    app,
    url: app.url,
    logger,
    feed: () => runCatalogJob<never>(h.deps, { kind: 'feed', feed: true }),
    sync: () => runSyncJob(h.deps),
    setProducts: (rows) => createStore(h.db.pool, { products: rows }),
    async addDeadLetter(itemId) {
      const { rows } = await h.db.pool.query<{ id: string }>(
        `insert into rr_sync.dead_letters (key, kind, item_id, body, hash, change, status, error_kind, reason, attempts, enqueued_at)
         values ($1, 'product', $2, $3, 'h', 'changed', 400, 'http', 'price: must be a number', 1, now())
         returning id::text`,
        [`product:${itemId}`, itemId, JSON.stringify({ id: Number(itemId), name: 'x' })],
      );
      return rows[0]!.id;
    },
    async close() {
      await app.close();
      await h.close();
    },
  };
}

/** fetch without following redirects, with the admin token unless told otherwise. */
export function adminFetch(
  url: string,
  init: RequestInit & { token?: string | null } = {},
): Promise<Response> {
  const { token = ADMIN_TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  return fetch(url, { redirect: 'manual', ...rest, headers });
}
