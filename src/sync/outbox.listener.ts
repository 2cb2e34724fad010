import type pg from 'pg';
import type { Logger } from '../shared/logger.ts';
import { OUTBOX_CHANNEL } from './outbox.repository.ts';

/**
 * LISTEN rr_sync_outbox on a connection of its own, calling `onNotify` for every NOTIFY that
 * `enqueue` sends. It never throws and never lets an 'error' event escape: a lost connection is
 * logged and re-opened with backoff (the pusher polls meanwhile, so nothing waits on it).
 */
export function listenToOutbox(pool: pg.Pool, onNotify: () => void, logger: Logger) {
  let client: pg.PoolClient | undefined;
  let closed = false;
  let retryMs = 500;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const reopenLater = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void open();
    }, retryMs);
    timer.unref?.();
    retryMs = Math.min(retryMs * 2, 30_000);
  };

  async function open() {
    if (closed) return;
    let c: pg.PoolClient | undefined;
    try {
      c = await pool.connect();
      const mine = c;
      // Stays attached after release: a dead connection may report more than one error.
      mine.on('error', (err: Error) => {
        if (client !== mine) return;
        client = undefined;
        logger.warn({ err: err.message }, 'outbox listener lost its connection; polling until it is back');
        mine.release(err);
        reopenLater();
      });
      c.on('notification', (n) => {
        if (n.channel === OUTBOX_CHANNEL) onNotify();
      });
      await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
      if (closed) {
        c.release();
        return;
      }
      client = c;
      retryMs = 500;
      // Changes enqueued while the connection was down were not notified.
      onNotify();
    } catch (err) {
      if (c && client !== c) c.release(err as Error);
      logger.warn({ err: (err as Error).message }, 'outbox listener cannot connect; retrying');
      reopenLater();
    }
  }

  void open();
  return {
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (!c) return;
      try {
        await c.query(`UNLISTEN ${OUTBOX_CHANNEL}`);
        c.release();
      } catch (err) {
        c.release(err as Error);
      }
    },
  };
}
