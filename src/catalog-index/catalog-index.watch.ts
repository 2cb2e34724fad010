import pg from 'pg';
import { APP_NAMES } from '../db/pool.ts';
import type { Logger } from '../shared/logger.ts';
import { createWakeable } from '../shared/wakeable.ts';

/** The channel migration 0007's triggers notify on every write to the index tables. */
export const INDEX_CHANNEL = 'rr_sync_catalog';
/** Index tables a category lookup does not read (it reads rr_sync.category_paths only). */
const PRODUCT_TABLES = new Set(['catalog_items_base', 'catalog_items_delta']);

/**
 * Whether what a process read of the published-catalog index may still be used. A dedicated
 * connection LISTENs on rr_sync_catalog; every committed write to the index (a sync, a compaction,
 * anyone's SQL) bumps the generation. While the connection is down (or has not answered a
 * heartbeat), the watch is not live: nothing cached may be trusted, and the generation is bumped
 * again when it comes back, since notifications sent meanwhile were lost.
 */
export interface IndexWatch {
  /** Changes whenever the index may have changed. */
  generation(): number;
  /**
   * Changes whenever the category tree (rr_sync.category_paths) may have changed: not for writes
   * to the product tables alone (a sync that changed products but no category), which the
   * notification names.
   */
  categoryGeneration(): number;
  /** Notifications are being received: reads cached under the current generation are current. */
  live(): boolean;
  /** Resolves once the watch is live (or closed): for start-up and tests. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface IndexWatchOptions {
  /** First wait before reconnecting; doubles up to maxRetryMs (default 500 ms, 30 s). */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * A connection that died without a FIN (failover, NAT) delivers nothing and reports nothing: a
   * `select 1` this often (default 5 s), answered within the same time, proves it alive.
   */
  heartbeatMs?: number;
}

export function watchIndex(
  connect: () => pg.Client,
  logger: Logger,
  options: IndexWatchOptions = {},
): IndexWatch {
  const retryMs = options.retryMs ?? 500;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  const heartbeatMs = options.heartbeatMs ?? 5_000;
  const log = logger.child({ component: 'index-watch' });
  let generation = 0;
  let categoryGeneration = 0;
  let live = false;
  let closed = false;
  let wasLive = false;
  const sleep = createWakeable();
  let stopCurrent: (() => void) | undefined;
  let readyWaiters: (() => void)[] = [];
  let wait = retryMs;

  const setLive = (value: boolean) => {
    live = value;
    generation += 1;
    categoryGeneration += 1;
    if (value) {
      for (const w of readyWaiters) w();
      readyWaiters = [];
    }
  };

  /** One connection's life: resolves when it is lost (or the watch closes). */
  async function session(client: pg.Client): Promise<void> {
    let lostReason: unknown;
    const lost = new Promise<void>((resolve) => {
      client.on('error', (err) => {
        lostReason ??= err;
        resolve();
      });
      client.on('end', () => resolve());
      stopCurrent = resolve;
    });
    await Promise.race([client.connect(), lost.then(() => Promise.reject(lostReason))]);
    client.on('notification', (n) => {
      if (n.channel !== INDEX_CHANNEL) return;
      generation += 1;
      // The payload is the table written (migration 0007); anything else counts for both.
      if (!PRODUCT_TABLES.has(n.payload ?? '')) categoryGeneration += 1;
    });
    await client.query(`LISTEN ${INDEX_CHANNEL}`);
    if (closed) return;
    setLive(true);
    wait = retryMs;
    if (wasLive) log.info({}, 'catalog index notifications restored: cached index reads resume');
    wasLive = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const heartbeat = new Promise<void>((resolve) => {
      const beat = () => {
        timer = setTimeout(() => {
          let answered = false;
          const deadline = setTimeout(() => {
            if (!answered) {
              lostReason ??= new Error(`no answer to a heartbeat within ${heartbeatMs} ms`);
              resolve();
            }
          }, heartbeatMs);
          client.query('select 1').then(
            () => {
              answered = true;
              clearTimeout(deadline);
              beat();
            },
            (err: unknown) => {
              answered = true;
              clearTimeout(deadline);
              lostReason ??= err;
              resolve();
            },
          );
        }, heartbeatMs);
      };
      beat();
    });
    await Promise.race([lost, heartbeat]);
    clearTimeout(timer);
    if (!closed) throw lostReason ?? new Error('the connection ended');
  }

  const loop = (async () => {
    while (!closed) {
      const client = connect();
      try {
        await session(client);
      } catch (err) {
        if (live) setLive(false);
        if (!closed)
          log.warn(
            { err: (err as Error)?.message ?? String(err), retryInMs: wait },
            'catalog index notifications lost: index reads go to PostgreSQL until they are back',
          );
      } finally {
        stopCurrent = undefined;
        client.removeAllListeners('notification');
        client.on('error', () => undefined);
        void client.end().catch(() => undefined);
      }
      if (closed) break;
      await sleep.wait(wait);
      wait = Math.min(wait * 2, maxRetryMs);
    }
    if (live) setLive(false);
  })();

  return {
    generation: () => generation,
    categoryGeneration: () => categoryGeneration,
    live: () => live,
    ready: () => (live || closed ? Promise.resolve() : new Promise((r) => readyWaiters.push(r))),
    async close() {
      closed = true;
      stopCurrent?.();
      sleep.kick();
      await loop;
      for (const w of readyWaiters) w();
      readyWaiters = [];
    },
  };
}

/** A fresh client with the pool's own settings (not one of its connections: LISTEN holds one for good). */
export function clientLike(pool: pg.Pool): () => pg.Client {
  const { options } = pool as unknown as { options: pg.ClientConfig };
  return () => new pg.Client({ ...options, application_name: APP_NAMES.indexWatch });
}
