import type pg from 'pg';
import {
  findAvailableProducts,
  findCategoryTrees,
  findGroupMembers,
  findKnownCategories,
  findKnownCategoryPaths,
  findKnownProducts,
  findKnownStocks,
  isKnownStock,
} from './catalog-index.repository.ts';

/** An id no catalog has (ids are decimal text of positive numbers): every read runs, none matches. */
const NONE = '0';

/**
 * Open `connections` of the pool at once and run every read of the published-catalog index once
 * on each, before the storefront's first burst does. A new connection is a new PostgreSQL backend
 * whose first plan through the `catalog_items` view took 8 ms (0.3 ms once its caches are warm);
 * at 500 requests/s right after start, new connections opened under the load, each planning cold,
 * while requests queued behind them (bench:api: the shop's p99 took 6-8 s to fall under 300 ms,
 * 3-5 s with this; the first second, with the JIT and the index cache cold, stays 2-3 s). Keep
 * them open with the pool's `min`, or they close after 10 s idle and the next burst pays again.
 */
export async function warmIndexConnections(pool: pg.Pool, connections: number): Promise<void> {
  const clients: pg.PoolClient[] = [];
  // Held all at once: asking for more than the pool's max would wait for one of our own.
  const n = Math.min(connections, pool.options.max ?? 10);
  try {
    // All at once: one client reused in turn would warm one backend `connections` times.
    const opened = await Promise.allSettled(Array.from({ length: n }, () => pool.connect()));
    for (const c of opened) if (c.status === 'fulfilled') clients.push(c.value);
    const failed = opened.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
    // Settled, not all: a client is released only once its own reads are over.
    const reads = await Promise.allSettled(
      clients.map(async (db) => {
        await findKnownProducts(db, [NONE]);
        await findGroupMembers(db, [NONE]);
        await findKnownCategories(db, [NONE]);
        await findKnownCategoryPaths(db, [NONE]);
        await findKnownStocks(db, [NONE]);
        await isKnownStock(db, NONE);
        await findCategoryTrees(db, [NONE], [NONE]);
        await findAvailableProducts(db, { categoryIds: [NONE], stockId: NONE, limit: 1, exclude: [NONE] });
      }),
    );
    const readFailed = reads.find((r) => r.status === 'rejected');
    if (readFailed) throw readFailed.reason;
  } finally {
    for (const c of clients) c.release();
  }
}
