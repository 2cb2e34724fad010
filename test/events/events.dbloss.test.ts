import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createEventRoutes, createEventService } from '../../src/events/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let app: App;
let service: ReturnType<typeof createEventService>;
beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  service = createEventService({ state: db.pool, config, logger: silentLogger });
  app = await startApp(
    { config, logger: silentLogger },
    { port: 0, host: '127.0.0.1', routes: createEventRoutes(service, config) },
  );
});
afterAll(async () => {
  await app?.close();
  await service?.close();
  await db?.drop();
});

const view = (productId: number) =>
  fetch(`${app.url}/v1/events/view`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionExternalId: 'v1', productId }),
  });

describe('PostgreSQL connection lost during a spool write', () => {
  it('answers 503 events.unavailable with Retry-After, keeps nothing of it, and recovers', async () => {
    // Hold the spool table so that the group's INSERT is certainly in flight when its connection dies.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table rr_sync.event_spool in exclusive mode');
    // pg_stat_activity is a snapshot per transaction: watch from a connection of its own.
    const watcher = new pg.Client({ connectionString: db.url });
    await watcher.connect();
    try {
      const pending = Promise.all([view(1), view(2), view(3)]);
      let answered = false;
      void pending.finally(() => (answered = true));
      // Every INSERT (the first group, then the next one with what waited meanwhile) dies on its
      // connection while it waits for the table.
      let killed = 0;
      while (!answered) {
        const r = await watcher.query<{ pid: number }>(
          `select pid from pg_stat_activity
            where datname = current_database() and query like '%insert into rr_sync.event_spool%'
              and wait_event_type = 'Lock'`,
        );
        for (const { pid } of r.rows) {
          await watcher.query('select pg_terminate_backend($1)', [pid]);
          killed += 1;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(killed).toBeGreaterThan(0);
      const answers = await pending;
      for (const res of answers) {
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('events.unavailable');
      }
    } finally {
      await blocker.query('rollback');
      await blocker.end();
      await watcher.end();
    }
    expect((await db.pool.query('select count(*)::int as n from rr_sync.event_spool')).rows[0].n).toBe(0);

    const again = await view(4);
    expect(again.status).toBe(202);
    const rows = (await db.pool.query('select body from rr_sync.event_spool')).rows;
    expect(rows.map((r) => r.body.productId)).toEqual([4]);
    expect(service.spool.stats()).toMatchObject({ commits: 1 });
    expect(service.spool.stats().failures).toBeGreaterThan(0);
  });
});
