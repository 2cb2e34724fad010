import { until } from '../helpers/until.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { enqueue, type OutboxItem } from '../../src/sync/outbox.repository.ts';
import { captureLogger } from '../rr/rr.helpers.ts';
import {
  API_KEY,
  catalogItems,
  createPushHarness,
  deadLetterRows,
  enqueueAll,
  expectedPushes,
  groupItem,
  outboxCount,
  PARTNER_ID,
  productItem,
  productPath,
  stockItem,
  type EmulatorCall,
  type PushHarness,
} from './push.harness.ts';

let h: PushHarness;
beforeAll(async () => {
  h = await createPushHarness();
});
beforeEach(() => h.reset());
afterAll(() => h?.close());

/** Resolves once `check` is true (polled), failing after `ms`. */

/** Product id -> the group the emulator holds it in, for every member of these items' groups. */
async function groupsOfMembers(items: readonly OutboxItem[]): Promise<Record<string, string | null>> {
  const ids = items.flatMap((i) =>
    i.kind === 'group' ? Object.keys((i.body as { products: object }).products) : [],
  );
  const { list } = (await h.admin(
    `/__emulator/catalog?partnerId=${PARTNER_ID}&ids=${ids.join(',')}&limit=${ids.length}`,
  )) as { list: { id: string; groupId: string | null }[] };
  return Object.fromEntries(list.map((i) => [i.id, i.groupId]));
}

function expectedGroups(items: readonly OutboxItem[]): Record<string, string> {
  return Object.fromEntries(
    items.flatMap((i) =>
      i.kind === 'group'
        ? Object.keys((i.body as { products: object }).products).map((m) => [m, i.itemId])
        : [],
    ),
  );
}

const callKey = (c: EmulatorCall) =>
  c.kind === 'group'
    ? `group:${c.id}`
    : c.stockId === null
      ? `product:${c.id}`
      : `stock:${c.id}:${c.stockId}`;

describe('pusher.drain', () => {
  it('pushes a few thousand items: the emulator ends with exactly those bodies per item, stock and group', async () => {
    const items = catalogItems(1500); // 1500 products + 1000 stock records + 30 groups
    expect(await enqueueAll(h, items)).toBe(2530);
    const config = h.config({ RR_PUSH_RATE: '500' });
    let failedCalls = 0;
    const rr = createRetailRocketClient(config.rr, {
      logger: silentLogger,
      onCall: (c) => void (c.ok ? undefined : failedCalls++),
    });
    try {
      const { pusher } = h.pusher({ config, rr });
      const report = await pusher.drain({ maxWaitMs: 30_000 });

      expect(report).toMatchObject({ pushed: 2530, deadLetters: 0, pending: 0, unreachable: false });
      expect(await h.pushes()).toEqual(expectedPushes(items));
      expect(await outboxCount(h)).toBe(0);
      expect(await deadLetterRows(h)).toEqual([]);
      const pushed = await h.db.pool.query<{ key: string; hash: string }>(
        'select key, hash from rr_sync.pushed',
      );
      expect(new Map(pushed.rows.map((r) => [r.key, r.hash]))).toEqual(
        new Map(items.map((i) => [i.key, i.hash])),
      );
      // Each item once, plus one more call per call that failed on our side (a timeout on a
      // loaded machine is retried; Retail Rocket may have taken the first one too).
      expect((await h.calls()).length).toBe(2530 + failedCalls);
    } finally {
      await rr.close();
    }
  });

  it('a change enqueued while the older body is in flight is pushed after it, and wins', async () => {
    await h.faults({ delayMs: 300, paths: '/api/1.0/' });
    await enqueueAll(h, [productItem(1, { price: 11 })]);
    const { pusher } = h.pusher();
    const drained = pusher.drain();
    await until(
      async () =>
        (await h.db.pool.query('select 1 from rr_sync.outbox where lease_owner is not null')).rowCount === 1,
    );
    await enqueueAll(h, [productItem(1, { price: 12 }, 'changed')]);
    const report = await drained;

    expect(report).toMatchObject({ pushed: 2, pending: 0, deadLetters: 0 });
    expect((await h.pushes())['product:1']).toMatchObject({ price: 12 });
    expect((await h.calls('1')).map((c) => c.status)).toEqual([200, 200]);
  });

  it('rides out a 503 outage: everything arrives once it recovers, no dead letters', async () => {
    const items = catalogItems(60);
    await enqueueAll(h, items);
    await h.faults({ forcedStatus: 503, paths: '/api/1.0/' });
    const { pusher } = h.pusher();
    const drained = pusher.drain({ maxWaitMs: 60_000 });
    // Every product and stock record got at least one 503 before Retail Rocket "recovers" (a
    // group waits for its members' product records, so it is not even tried meanwhile).
    const records = items.filter((i) => i.kind !== 'group');
    await until(
      async () =>
        new Set((await h.calls()).filter((c) => c.status === 503).map(callKey)).size === records.length,
    );
    await h.faults({ forcedStatus: null });
    const report = await drained;

    expect(report).toMatchObject({ pushed: items.length, deadLetters: 0, pending: 0, unreachable: false });
    expect(await h.pushes()).toEqual(expectedPushes(items));
    expect(await deadLetterRows(h)).toEqual([]);
    const calls = await h.calls();
    for (const g of items.filter((i) => i.kind === 'group')) {
      const members = Object.keys((g.body as { products: object }).products);
      const lastMember = Math.max(
        ...calls
          .filter((c) => c.kind === 'product' && c.stockId === null && members.includes(c.id))
          .map((c) => c.seq),
      );
      const groupCalls = calls.filter((c) => c.kind === 'group' && c.id === g.itemId);
      expect(
        groupCalls.map((c) => c.status),
        g.key,
      ).toEqual([200]);
      expect(groupCalls[0]!.seq, `${g.key} after its members`).toBeGreaterThan(lastMember);
    }
    expect(await groupsOfMembers(items)).toEqual(expectedGroups(items));
  });

  it("a group goes after its members' own product records: Retail Rocket keeps them in the group", async () => {
    // The group is due first, and its members' records take a while: pushed at once, the group
    // would land first and the members' product records (which carry no group) after it.
    await enqueueAll(h, [groupItem(77, [1, 2, 3])]);
    await h.db.pool.query(`update rr_sync.outbox set next_attempt_at = now() - interval '1 minute'`);
    const members = [productItem(1), productItem(2), productItem(3), stockItem(1, 'north')];
    await enqueueAll(h, members);
    await h.faults({ delayMs: 300, paths: `/api/1.0/partner/${PARTNER_ID}/products/` });
    const { pusher } = h.pusher();
    const report = await pusher.drain();

    expect(report).toMatchObject({ pushed: 5, deadLetters: 0, pending: 0 });
    expect(await groupsOfMembers([groupItem(77, [1, 2, 3])])).toEqual({ '1': '77', '2': '77', '3': '77' });
    const upserts = (await h.admin(`/__emulator/upserts?partnerId=${PARTNER_ID}`)).upserts as {
      seq: number;
      kind: string;
      id: string;
    }[];
    expect(upserts.map((u) => `${u.kind}:${u.id}`).at(-1)).toBe('group:77');
    // Not counted as a failed attempt: it was only held back.
    expect((await h.calls('77')).map((c) => c.status)).toEqual([200]);
  });

  it('a group whose member keeps failing waits for that member, then goes once it is a dead letter', async () => {
    await h.faults({ forcedStatus: 500, paths: productPath(2) });
    await enqueueAll(h, [productItem(1), productItem(2), groupItem(78, [1, 2])]);
    const { pusher } = h.pusher({
      config: h.config({ RR_PUSH_MAX_ATTEMPTS: '3' }),
      options: { backoff: { baseMs: 200, maxMs: 200 } },
    });
    const report = await pusher.drain();

    expect(report).toMatchObject({ pushed: 2, deadLetters: 1, pending: 0 });
    const calls = await h.calls();
    const group = calls.find((c) => c.kind === 'group')!;
    const member2 = calls.filter((c) => c.kind === 'product' && c.id === '2');
    expect(member2.map((c) => c.status)).toEqual([500, 500, 500]);
    expect(group.seq).toBeGreaterThan(member2.at(-1)!.seq);
    expect(group.status).toBe(200);
  });

  it('honours Retry-After of a 429: no call for that item before it', async () => {
    const items = [productItem(1), productItem(2), stockItem(3, 'north')];
    await enqueueAll(h, items);
    await h.faults({ forcedStatus: 429, retryAfterSeconds: 2, paths: '/api/1.0/' });
    const { pusher } = h.pusher();
    const drained = pusher.drain({ maxWaitMs: 60_000 });
    await until(
      async () => new Set((await h.calls()).filter((c) => c.status === 429).map(callKey)).size === 3,
    );
    await h.faults({ forcedStatus: null });
    expect(await drained).toMatchObject({ pushed: 3, pending: 0, deadLetters: 0 });

    const calls = await h.calls();
    for (const item of items) {
      const mine = calls.filter((c) => callKey(c) === item.key);
      expect(mine.at(-1)!.status).toBe(200);
      for (let i = 1; i < mine.length; i++) {
        const prev = mine[i - 1]!;
        if (prev.status !== 429) continue;
        // ISO timestamps have millisecond resolution: allow the one millisecond of rounding.
        expect(Date.parse(mine[i]!.receivedAt) - Date.parse(prev.answeredAt)).toBeGreaterThanOrEqual(
          2000 - 1,
        );
      }
    }
  });

  it('a 400 and an invalid body become dead letters with their reason at once, the rest arrives', async () => {
    const logger = captureLogger();
    await h.faults({ forcedStatus: 400, paths: productPath(4242) });
    await enqueueAll(h, [productItem(4242), productItem(5), productItem(6, { price: 0 })]);
    const { pusher } = h.pusher({ logger });
    const report = await pusher.drain();

    expect(report).toMatchObject({ pushed: 1, deadLetters: 2, pending: 0 });
    const dead = await deadLetterRows(h);
    expect(dead).toEqual([
      expect.objectContaining({ key: expect.any(String), attempts: 1, requeued_at: null }),
      expect.objectContaining({ attempts: 1, requeued_at: null }),
    ]);
    const byKey = Object.fromEntries(dead.map((d) => [d.key, d]));
    expect(byKey['product:4242']).toMatchObject({ status: 400, error_kind: 'http' });
    expect(byKey['product:4242'].reason).toMatch(/^Retail Rocket answered 400/);
    expect(byKey['product:6']).toMatchObject({ status: null, error_kind: 'invalid' });
    expect(byKey['product:6'].reason).toMatch(/price: must be > 0/);
    expect((await h.calls('4242')).length).toBe(1); // never retried
    expect((await h.calls('6')).length).toBe(0); // never sent
    expect(JSON.stringify(dead) + logger.lines.join('\n')).not.toContain(API_KEY);
  });

  it('gives up after RR_PUSH_MAX_ATTEMPTS failed calls: dead letter of kind attempts', async () => {
    await h.faults({ forcedStatus: 500, paths: '/api/1.0/' });
    await enqueueAll(h, [productItem(7)]);
    const { pusher } = h.pusher({
      config: h.config({ RR_PUSH_MAX_ATTEMPTS: '3' }),
      options: { backoff: { baseMs: 10, maxMs: 20 } },
    });
    const report = await pusher.drain();

    expect(report).toMatchObject({ pushed: 0, deadLetters: 1, pending: 0 });
    expect(await deadLetterRows(h)).toEqual([
      expect.objectContaining({ key: 'product:7', status: 500, error_kind: 'attempts', attempts: 3 }),
    ]);
    expect((await h.calls('7')).map((c) => c.status)).toEqual([500, 500, 500]);
  });

  it('two pushers draining one outbox side by side push each item once', async () => {
    const items = catalogItems(900);
    await enqueueAll(h, items);
    const config = h.config({ RR_PUSH_RATE: '250' });
    let failedCalls = 0;
    const onCall = (c: { ok: boolean }) => void (c.ok ? undefined : failedCalls++);
    const a = h.pusher({
      config,
      rr: createRetailRocketClient(config.rr, { logger: silentLogger, onCall }),
    }).pusher;
    const b = h.pusher({
      config,
      rr: createRetailRocketClient(config.rr, { logger: silentLogger, onCall }),
    }).pusher;
    const [ra, rb] = await Promise.all([a.drain({ maxWaitMs: 30_000 }), b.drain({ maxWaitMs: 30_000 })]);

    expect(ra.pushed + rb.pushed).toBe(items.length);
    expect(ra.pushed).toBeGreaterThan(0);
    expect(rb.pushed).toBeGreaterThan(0);
    const calls = await h.calls();
    expect(calls.length).toBe(items.length + failedCalls); // a call that failed on our side is retried
    expect(new Set(calls.map(callKey)).size).toBe(items.length);
    expect(await h.pushes()).toEqual(expectedPushes(items));
    expect(await outboxCount(h)).toBe(0);
  });

  it('reports rows due later than maxWaitMs as pending instead of waiting for them', async () => {
    await enqueueAll(h, [productItem(1)]);
    await h.db.pool.query(`update rr_sync.outbox set next_attempt_at = now() + interval '1 hour'`);
    const { pusher } = h.pusher();
    expect(await pusher.drain({ maxWaitMs: 100 })).toMatchObject({
      pushed: 0,
      pending: 1,
      unreachable: false,
    });
  });

  it('stops as unreachable when no call gets an answer, leaving the items in the outbox', async () => {
    await enqueueAll(h, catalogItems(20));
    const config = h.config({ RR_PRODUCT_API_URL: 'http://127.0.0.1:9/api/1.0/' });
    const { pusher } = h.pusher({ config, options: { unreachableAfterMs: 1000 } });
    const report = await pusher.drain({ maxWaitMs: 60_000 });

    expect(report).toMatchObject({ pushed: 0, deadLetters: 0, pending: 34, unreachable: true });
    expect(await outboxCount(h)).toBe(34);
    const leased = await h.db.pool.query(
      'select count(*)::int as n from rr_sync.outbox where lease_owner is not null',
    );
    expect(leased.rows[0].n).toBe(0);
  });
});

describe('pusher.start / stop', () => {
  it('wakes on NOTIFY, survives its database connections being killed, and stops releasing its leases', async () => {
    const { pusher } = h.pusher({ options: { pollMs: 60_000 } });
    pusher.start();
    try {
      // pollMs is a minute: only the NOTIFY from enqueue can make these arrive in time.
      await enqueue(h.db.pool, [productItem(1), productItem(2)]);
      await until(async () => Object.keys(await h.pushes()).length === 2, { timeoutMs: 30_000 });
      await until(async () => (await outboxCount(h)) === 0, { timeoutMs: 30_000 });

      await h.db.pool.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
      );
      await enqueue(h.db.pool, [productItem(3)]).catch(() => enqueue(h.db.pool, [productItem(3)]));
      await until(async () => Object.keys(await h.pushes()).length === 3, { timeoutMs: 30_000 });
      await until(async () => (await outboxCount(h).catch(() => -1)) === 0, { timeoutMs: 30_000 });
    } finally {
      await pusher.stop({ timeoutMs: 10_000 });
    }
    expect(await outboxCount(h)).toBe(0);
  });

  it('stop lets calls in flight finish and records them', async () => {
    await h.faults({ delayMs: 400, paths: '/api/1.0/' });
    const { pusher } = h.pusher();
    pusher.start();
    await enqueue(h.db.pool, [productItem(1), productItem(2)]);
    await until(
      async () =>
        (await h.db.pool.query('select 1 from rr_sync.outbox where lease_owner is not null')).rowCount === 2,
    );
    await pusher.stop({ timeoutMs: 10_000 });

    expect(Object.keys(await h.pushes()).sort()).toEqual(['product:1', 'product:2']);
    expect(await outboxCount(h)).toBe(0);
  });
});
