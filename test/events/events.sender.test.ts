import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEventSender, popularProducts } from '../../src/events/index.ts';
import type { EventSenderOptions } from '../../src/events/events.sender.ts';
import { createStorefront } from '../../src/app/storefront.ts';
import { EVENT_TYPES } from '../../src/rr/index.ts';
import { createLogger, silentLogger } from '../../src/shared/logger.ts';
import { createPusher } from '../../src/sync/pusher.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { createStore, product } from '../feed/store.fixture.ts';
import { sampleEvent, until } from './events.fixtures.ts';
import { createEventsHarness, FAULTS_OFF, perVisitor, STORE, type EventsHarness } from './events.harness.ts';

let h: EventsHarness;
let service: ReturnType<EventsHarness['service']>;

beforeAll(async () => {
  h = await createEventsHarness();
  await h.sync();
  service = h.service();
});
afterEach(async () => {
  await h.faults(FAULTS_OFF);
});
afterAll(async () => {
  await service?.close();
  await h?.close();
});

const reset = () => h.reset();

/**
 * A sender for outage tests: quick polls and retries (50 ms backoff), so that what keeps its calls
 * down is the breaker alone, which opens after 3 failures and probes after `coolDownMs`.
 */
const outageOptions = (coolDownMs: number): EventSenderOptions => ({
  pollMs: 50,
  gatherMs: 10,
  retry: { backoff: { baseMs: 50, random: () => 0.5 } },
  breaker: { failureThreshold: 3, failureRatio: 0.5, windowMs: 10_000, consecutiveFailures: 3, coolDownMs },
});

const accepted = async (type: string, input: unknown) => {
  const r = await service.accept(type, input);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.id;
};

describe('the event sender', () => {
  it('delivers every event type with its original timestamp, and Retail Rocket sees no unknown id', async () => {
    await reset();
    const stamps = new Map<string, string>();
    for (const [i, type] of EVENT_TYPES.entries()) {
      const timestamp = new Date(Date.UTC(2024, 2, 1, 9, i)).toISOString();
      stamps.set(type, timestamp);
      await accepted(type, { ...sampleEvent(type, 'v1'), timestamp });
    }
    const report = await h.sender().drain();
    expect(report).toMatchObject({ sent: EVENT_TYPES.length, parked: 0, deadLetters: 0 });
    const events = await h.events();
    expect(events.map((e) => e.type)).toEqual(EVENT_TYPES); // one visitor: acceptance order
    for (const e of events) expect(e.timestamp).toBe(stamps.get(e.type));
    expect(await h.warnings()).toEqual([]);
    expect(await h.spool()).toEqual([]);
    expect(await h.counts()).toMatchObject({ accepted: EVENT_TYPES.length, sent: EVENT_TYPES.length });
    const pop = await h.db.pool.query(
      'select product_id, views, carts, orders from rr_sync.product_popularity order by 1',
    );
    expect(pop.rows).toEqual([
      { product_id: '1', views: '1', carts: '0', orders: '1' },
      { product_id: '2', views: '0', carts: '1', orders: '0' },
    ]);
    expect(await popularProducts(h.db.pool, 10)).toEqual(['1', '2']);
    expect(await popularProducts(h.db.pool, 10, ['1'])).toEqual(['2']);
  });

  it('parks an event naming an id the catalog does not know, sends it once a sync made it known', async () => {
    await reset();
    const timestamp = '2024-03-01T10:00:00.000Z';
    await accepted('view', { sessionExternalId: 'p1', productId: 99, timestamp });
    await accepted('view', { sessionExternalId: 'p1', productId: 1, stockId: 'south' }); // stock not given
    await accepted('view', { sessionExternalId: 'p1', productId: 2 }); // not held back by the parked
    const sender = h.sender();
    expect(await sender.drain()).toMatchObject({ sent: 1, parked: 2 });
    expect((await h.events()).map((e) => e.body.productId)).toEqual([2]);
    expect((await h.spool()).map((r) => r.status)).toEqual(['parked', 'parked']);
    expect(await sender.recheckParked()).toEqual({ unparked: 0, dropped: 0, parked: 2 });

    await h.sync({ ...STORE, products: [...STORE.products, product('99')] });
    expect(await sender.recheckParked()).toEqual({ unparked: 1, dropped: 0, parked: 1 });
    expect(await sender.drain()).toMatchObject({ sent: 1 });
    const late = (await h.events()).find((e) => e.body.productId === 99);
    expect(late?.timestamp).toBe(timestamp);
    expect(await h.warnings()).toEqual([]);

    // The other never becomes known: dropped after EVENT_PARK_TTL, counted with its reason.
    await h.db.pool.query(`update rr_sync.event_spool set parked_at = now() - interval '25 hours'`);
    expect(await sender.recheckParked()).toEqual({ unparked: 0, dropped: 1, parked: 0 });
    expect(await h.spool()).toEqual([]);
    expect(await h.counts()).toMatchObject({
      accepted: 3,
      sent: 2,
      parked: 2,
      unparked: 1,
      'dropped:park_ttl': 1,
    });
    expect((await h.events()).some((e) => e.body.stockId === 'south')).toBe(false);
  });

  it('an id a sync added waits until its record was pushed: Retail Rocket is not told it before', async () => {
    await reset();
    // A sync adds product 98 (and the feed has it), but its Product API record is not pushed yet.
    await createStore(h.db.pool, { ...STORE, products: [...STORE.products, product('98')] });
    const c = h.config();
    await runSyncJob({ catalog: h.db.pool, state: h.db.pool, config: c, logger: silentLogger });
    expect(
      (await h.db.pool.query(`select change from rr_sync.outbox where key = 'product:98'`)).rows,
    ).toEqual([{ change: 'new' }]);

    await accepted('view', { sessionExternalId: 'n1', productId: 98 });
    await accepted('view', { sessionExternalId: 'n1', productId: 1 });
    const sender = h.sender();
    expect(await sender.drain()).toMatchObject({ sent: 1, parked: 1 });
    expect(await sender.recheckParked()).toEqual({ unparked: 0, dropped: 0, parked: 1 });

    await createPusher({ state: h.db.pool, rr: h.client(c), config: c, logger: silentLogger }).drain();
    expect(await sender.recheckParked()).toEqual({ unparked: 1, dropped: 0, parked: 0 });
    expect(await sender.drain()).toMatchObject({ sent: 1 });
    expect((await h.events()).map((e) => e.body.productId)).toEqual([1, 98]);
    expect(await h.warnings()).toEqual([]);
    await h.sync(); // back to the shared store
  });

  it('keeps per-visitor order through 503s and a 429 (no call before its Retry-After)', async () => {
    await reset();
    await h.faults({ forcedStatus: 503, retryAfterSeconds: 1, paths: '/1.0/' });
    const sender = h.sender({ pollMs: 200, retry: { backoff: { baseMs: 200, random: () => 0.5 } } });
    sender.start();
    try {
      const order: Record<string, number[]> = { a: [], b: [], c: [] };
      for (let i = 0; i < 30; i++) {
        const v = ['a', 'b', 'c'][i % 3]!;
        order[v]!.push(i);
        await accepted('search', { sessionExternalId: v, searchPhrase: `q${i}` });
      }
      await new Promise((r) => setTimeout(r, 1500)); // several 503s meanwhile
      expect(await h.events()).toEqual([]);

      await h.faults({ forcedStatus: 429, retryAfterSeconds: 3 });
      await until(
        async () =>
          (await h.db.pool.query(`select 1 from rr_sync.event_spool where last_error like '%429%'`))
            .rowCount! > 0,
        30_000,
      );
      const first429 = Date.now();
      await h.faults(FAULTS_OFF);
      await until(async () => (await h.events()).length === 30, 60_000);
      const events = await h.events();
      // The 429 said 3 s; faults were off long before: an earlier call would have succeeded.
      // (Margin: the 429 was answered before we saw it recorded.)
      expect(Date.parse(events[0]!.receivedAt) - first429).toBeGreaterThanOrEqual(2000);
      const got = perVisitor(events, (e) => String(e.body.searchPhrase));
      for (const v of ['a', 'b', 'c']) expect(got.get(v)).toEqual(order[v]!.map((i) => `q${i}`));
    } finally {
      await sender.stop();
    }
    expect(await h.spool()).toEqual([]);
  });

  it('Retail Rocket stalling: calls time out, nothing is lost or sent twice, order per visitor holds', async () => {
    await reset();
    // Every tracking call hangs far longer than the sender waits (its deadline: 300 ms).
    await h.faults({ delayMs: 60_000, paths: '/1.0/' });
    const sender = h.sender({
      pollMs: 100,
      batchTimeoutMs: 300,
      singleTimeoutMs: 300,
      retry: { backoff: { baseMs: 100, random: () => 0.5 } },
    });
    sender.start();
    try {
      const order: Record<string, string[]> = { s1: [], s2: [], s3: [] };
      for (let i = 0; i < 24; i++) {
        const v = `s${(i % 3) + 1}`;
        order[v]!.push(`q${i}`);
        // Batchable events and the single-only type: both paths time out.
        if (i % 8 === 7) {
          await accepted('categoryViewByCategoryPath', sampleEvent('categoryViewByCategoryPath', v));
          order[v]!.pop();
          order[v]!.push('path');
        } else await accepted('search', { sessionExternalId: v, searchPhrase: `q${i}` });
      }
      // Several deadlines pass: each attempt is recorded as a timeout, none is answered.
      await until(
        async () =>
          (await h.db.pool.query(`select 1 from rr_sync.event_spool where attempts >= 2`)).rowCount! > 0,
        30_000,
      );
      expect(await h.events()).toEqual([]);
      const errors = await h.db.pool.query<{ last_error: string }>(
        `select distinct last_error from rr_sync.event_spool where attempts > 0`,
      );
      expect(errors.rows.map((r) => r.last_error).join('\n')).toMatch(/no answer within \d+ ms/);
      expect((await h.spool()).length).toBe(24);

      await h.faults(FAULTS_OFF);
      await until(async () => (await h.spool()).length === 0, 60_000);
      const events = await h.events();
      expect(events).toHaveLength(24); // a call that timed out stored nothing: exactly once
      const got = perVisitor(events, (e) =>
        e.type === 'categoryViewByCategoryPath' ? 'path' : String(e.body.searchPhrase),
      );
      for (const v of ['s1', 's2', 's3']) expect(got.get(v)).toEqual(order[v]);
      expect(await h.counts()).toMatchObject({ accepted: 24, sent: 24 });
      expect(await h.warnings()).toEqual([]);
    } finally {
      await sender.stop();
    }
  });

  it('Retail Rocket failing for good: the sender stops calling it, probes after a cool-down, resumes', async () => {
    const options = outageOptions(1000);
    /** A sender counting its calls, while the shop sends an event every 50 ms for 2.5 s. */
    const outage = async (breaker: EventSenderOptions['breaker'], prefix: string, logger = silentLogger) => {
      const rr = h.client();
      let calls = 0;
      const counted = {
        ...rr,
        sendVisitorEvents: (...a: Parameters<typeof rr.sendVisitorEvents>) => {
          calls += 1;
          return rr.sendVisitorEvents(...a);
        },
      };
      const sender = createEventSender(
        { state: h.db.pool, rr: counted, config: h.config(), logger },
        { ...options, breaker },
      );
      sender.start();
      const started = performance.now();
      const order = new Map<string, string[]>();
      for (let i = 0; i < 50; i++) {
        const v = `${prefix}${i % 25}`;
        order.set(v, [...(order.get(v) ?? []), `q${i}`]);
        await accepted('search', { sessionExternalId: v, searchPhrase: `q${i}` });
        await new Promise((r) => setTimeout(r, 50));
      }
      return { order, calls, seconds: (performance.now() - started) / 1000, sender };
    };

    // The control: a breaker that never opens. New events keep coming, so each claim makes a call.
    await reset();
    await h.faults({ forcedStatus: 500, paths: '/1.0/' });
    const never = {
      failureThreshold: 1e9,
      failureRatio: 1,
      windowMs: 10_000,
      consecutiveFailures: 1e9,
      coolDownMs: 1000,
    };
    const control = await outage(never, 'n');
    await control.sender.stop();
    expect(control.calls).toBeGreaterThan(30); // ~110 here

    await reset();
    const lines: string[] = [];
    const logged = createLogger({ stream: { isTTY: false, write: (l: string) => lines.push(l) } });
    const guarded = await outage(options.breaker, 'g', logged);
    // Three failures open it; then one probe a second (each fails and opens it again): 5 here.
    expect(guarded.calls).toBeGreaterThanOrEqual(4);
    expect(guarded.calls).toBeLessThanOrEqual(3 + Math.ceil(guarded.seconds) + 1);
    try {
      expect(await h.events()).toEqual([]);
      // Nothing was lost meanwhile.
      expect((await h.spool()).length).toBe(50);

      await h.faults(FAULTS_OFF);
      await until(async () => (await h.spool()).length === 0, 30_000);
      const events = await h.events();
      expect(events).toHaveLength(50);
      expect(perVisitor(events, (e) => String(e.body.searchPhrase))).toEqual(guarded.order);
      expect(await h.warnings()).toEqual([]);
      // One line when the outage began (however many probes failed), one when it ended.
      const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(said.filter((l) => /circuit open/.test(l.msg))).toMatchObject([{ level: 40 }]);
      expect(said.filter((l) => /sending resumed/.test(l.msg))).toMatchObject([{ level: 30 }]);
      expect(lines.join('')).not.toContain(h.env.RR_API_KEY);
    } finally {
      await guarded.sender.stop();
    }
  });

  it("the status page and alerts see the sender's breaker: open in an outage, closed after", async () => {
    await reset();
    await h.faults({ forcedStatus: 500, paths: '/1.0/' });
    const c = h.config();
    const storefront = createStorefront({
      state: h.db.pool,
      rr: h.client(c),
      config: c,
      logger: silentLogger,
      indexCache: false,
      senderOptions: outageOptions(300),
    });
    const senderBreaker = () => storefront.providers.breakers!().find((b) => b.name === 'events/sender');
    storefront.start();
    try {
      expect(senderBreaker()).toEqual({ name: 'events/sender', state: 'closed' });
      for (let i = 0; i < 5; i++) {
        expect(
          await storefront.events.accept('search', { sessionExternalId: `o${i}`, searchPhrase: 'q' }),
        ).toMatchObject({
          ok: true,
        });
        await new Promise((r) => setTimeout(r, 60));
      }
      await until(async () => senderBreaker()?.state !== 'closed', 10_000);
      expect(Date.parse(senderBreaker()!.openSince!)).toBeLessThanOrEqual(Date.now());

      await h.faults(FAULTS_OFF);
      await until(async () => (await h.spool()).length === 0, 30_000);
      expect(senderBreaker()).toEqual({ name: 'events/sender', state: 'closed' });
      expect(await h.events()).toHaveLength(5);
    } finally {
      await storefront.stop();
    }
  });

  it('moves an event Retail Rocket refuses with 400 to the dead letters, with the reason', async () => {
    await reset();
    await h.faults({ forcedStatus: 400, paths: '/1.0/' });
    await accepted('view', { sessionExternalId: 'd1', productId: 1 });
    await accepted('view', { sessionExternalId: 'd1', productId: 2 });
    expect(await h.sender().drain()).toMatchObject({ sent: 0, deadLetters: 2 });
    const dead = await h.db.pool.query(
      'select event_id::text, visitor, type, status, error_kind, reason, attempts from rr_sync.event_dead_letters order by id',
    );
    expect(dead.rows).toHaveLength(2);
    expect(dead.rows[0]).toMatchObject({
      visitor: 'd1',
      type: 'view',
      status: 400,
      error_kind: 'http',
      attempts: 1,
    });
    expect(dead.rows[0].reason).toMatch(/400/);
    expect(JSON.stringify(dead.rows)).not.toContain(h.env.RR_API_KEY);
    expect(await h.spool()).toEqual([]);
    expect(await h.counts()).toMatchObject({ 'dead_letter:http': 2 });
  });

  it('two senders on one spool: every event delivered exactly once, in order per visitor', async () => {
    await reset();
    await h.faults({ delayMs: 0, jitterMs: 20, paths: '/1.0/' });
    // Each also vacuums the spool every 20 claimed events, while the other claims and deletes.
    const a = h.sender({ claimBatch: 15, pollMs: 100, vacuumEvery: 20 }, 'owner-a');
    const b = h.sender({ claimBatch: 15, pollMs: 100, vacuumEvery: 20 }, 'owner-b');
    a.start();
    b.start();
    try {
      const expected = new Map<string, string[]>();
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 300; i++) {
        const v = `t${i % 10}`;
        expected.set(v, [...(expected.get(v) ?? []), `q${i}`]);
        writes.push(accepted('search', { sessionExternalId: v, searchPhrase: `q${i}` }));
        // One visitor's events are accepted one after another (its acceptance order is defined).
        if (i % 10 === 9) await Promise.all(writes.splice(0));
      }
      await until(async () => (await h.spool()).length === 0, 60_000);
      const events = await h.events();
      expect(events).toHaveLength(300);
      expect(perVisitor(events, (e) => String(e.body.searchPhrase))).toEqual(expected);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('vacuums the spool every vacuumEvery claimed events, so its dead rows do not pile up between autovacuums', async () => {
    await reset();
    const vacuums = async () => {
      const { rows } = await h.db.pool.query<{ n: number }>(
        `select vacuum_count::int as n from pg_stat_user_tables
          where schemaname = 'rr_sync' and relname = 'event_spool'`,
      );
      return rows[0]!.n;
    };
    const accept = async (n: number) => {
      for (let i = 0; i < n; i++) await accepted('view', { sessionExternalId: `w${i % 7}`, productId: 1 });
    };
    const before = await vacuums();
    await accept(40);
    expect(await h.sender({ claimBatch: 10, vacuumEvery: 0 }).drain()).toMatchObject({ sent: 40 });
    expect(await vacuums()).toBe(before);

    await accept(95);
    expect(await h.sender({ claimBatch: 10, vacuumEvery: 30 }).drain()).toMatchObject({ sent: 95 });
    // 95 claimed: after the 30th, 60th and 90th.
    await until(async () => (await vacuums()) >= before + 3, 10_000);
    expect(await vacuums()).toBe(before + 3);
    expect(await h.spool()).toEqual([]);
  });
});
