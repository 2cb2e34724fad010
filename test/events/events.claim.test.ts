import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { claimEvents } from '../../src/events/events.repository.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});
beforeEach(async () => {
  await db.pool.query('truncate rr_sync.event_spool');
});

/** One spool row as a test states it; inserted in array order (= id order). */
interface Row {
  visitor: number;
  parked: boolean;
  /** Waiting for a retry (next_attempt_at in the future). */
  waiting: boolean;
  lease: 'none' | 'held' | 'expired';
}

async function fill(rows: readonly Row[]): Promise<string[]> {
  const res = await db.pool.query<{ id: string }>(
    `insert into rr_sync.event_spool (visitor, type, body, status, parked_at, next_attempt_at, lease_owner, lease_until)
     select 'v' || v, 'view', '{}'::jsonb, case when p then 'parked' else 'pending' end, case when p then now() end,
            now() + case when w then interval '1 hour' else interval '-1 second' end,
            case when l = 'none' then null else 'other' end,
            case l when 'held' then now() + interval '1 hour' when 'expired' then now() - interval '1 second' end
       from unnest($1::int[], $2::bool[], $3::bool[], $4::text[]) with ordinality as u(v, p, w, l, o)
      order by o
     returning id::text`,
    [
      rows.map((r) => r.visitor),
      rows.map((r) => r.parked),
      rows.map((r) => r.waiting),
      rows.map((r) => r.lease),
    ],
  );
  return res.rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b));
}

const pending = (r: Row) => !r.parked;
const inTheWay = (r: Row) => pending(r) && (r.waiting || r.lease === 'held');
/** The rule: due, not leased, and no earlier pending event of its visitor in flight or waiting. */
const claimable = (rows: readonly Row[], i: number) =>
  pending(rows[i]!) &&
  !inTheWay(rows[i]!) &&
  !rows.slice(0, i).some((e) => e.visitor === rows[i]!.visitor && inTheWay(e));

const row = fc.record({
  visitor: fc.integer({ min: 0, max: 5 }),
  parked: fc.constantFrom(false, false, false, true),
  waiting: fc.boolean(),
  lease: fc.constantFrom('none', 'none', 'none', 'held', 'expired'),
});

describe('claiming spooled events', () => {
  it("claims only claimable events, never a visitor's later event without its earlier ones, and always makes progress", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        async (rows, limit, window) => {
          await db.pool.query('truncate rr_sync.event_spool');
          const ids = await fill(rows);
          const claimed = await claimEvents(db.pool, 'me', limit, 60_000, window);
          const taken = new Set(claimed.map((c) => ids.indexOf(c.id)));
          const can = rows.map((_, i) => claimable(rows, i));

          expect(claimed.length).toBeLessThanOrEqual(limit);
          expect(claimed.map((c) => c.id)).toEqual(
            [...claimed.map((c) => c.id)].sort((a, b) => Number(a) - Number(b)),
          );
          for (const i of taken) {
            expect(can[i], `row ${i} was not claimable`).toBe(true);
            // Its visitor's earlier pending events are all claimable too: they must go in this claim.
            for (let e = 0; e < i; e++) {
              if (pending(rows[e]!) && rows[e]!.visitor === rows[i]!.visitor) expect(taken.has(e)).toBe(true);
            }
          }
          // Progress: something claimable is always claimed; a full claim when the oldest `window`
          // pending events alone hold `limit` claimable ones.
          const anyClaimable = can.some(Boolean);
          expect(claimed.length > 0).toBe(anyClaimable);
          const pendingIdx = rows.flatMap((r, i) => (pending(r) ? [i] : []));
          const inWindow = pendingIdx.slice(0, window).filter((i) => can[i]).length;
          expect(claimed.length).toBeGreaterThanOrEqual(Math.min(limit, inWindow));
          // What was claimed is leased to us now.
          const leased = await db.pool.query<{ id: string }>(
            `select id::text from rr_sync.event_spool where lease_owner = 'me' and lease_until > now()`,
          );
          expect(leased.rows.map((r) => r.id).sort()).toEqual(claimed.map((c) => c.id).sort());
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reaches the due events behind a window of events waiting for a retry (after an outage)', async () => {
    // Six visitors' oldest events wait for their retry, then: a (held back behind its waiting
    // event), g, g, h due. The window (4) holds only waiting events.
    const waiting = ['a', 'b', 'c', 'd', 'e', 'f'].map((_, i) => ({
      visitor: i,
      parked: false,
      waiting: true,
      lease: 'none' as const,
    }));
    const due = (visitor: number): Row => ({ visitor, parked: false, waiting: false, lease: 'none' });
    const ids = await fill([...waiting, due(0), due(6), due(6), due(7)]);
    const claimed = await claimEvents(db.pool, 'me', 3, 60_000, 4);
    expect(claimed.map((c) => c.visitor)).toEqual(['v6', 'v6', 'v7']);
    expect(claimed.map((c) => c.id)).toEqual(ids.slice(7));
    // Nothing else is claimable until the retries are due.
    expect(await claimEvents(db.pool, 'me', 3, 60_000, 4)).toEqual([]);
  });

  it('reaches a claimable event behind due events that are all held back', async () => {
    // v5's first event is in flight elsewhere, so its second waits; v0's is free. With a window
    // of one and one candidate, both the window and the oldest due event are v5's.
    const ids = await fill([
      { visitor: 5, parked: false, waiting: false, lease: 'held' },
      { visitor: 5, parked: false, waiting: false, lease: 'none' },
      { visitor: 0, parked: false, waiting: false, lease: 'none' },
    ]);
    const claimed = await claimEvents(db.pool, 'me', 1, 60_000, 1);
    expect(claimed.map((c) => c.id)).toEqual([ids[2]]);
  });

  it('takes a full claim from the oldest events when a backlog is due, in id order', async () => {
    const rows = Array.from({ length: 50 }, (_, i): Row => ({
      visitor: i % 7,
      parked: false,
      waiting: false,
      lease: 'none',
    }));
    const ids = await fill(rows);
    const first = await claimEvents(db.pool, 'me', 10, 60_000, 40);
    expect(first.map((c) => c.id)).toEqual(ids.slice(0, 10));
    // Every visitor has an event in flight now: their later events wait for it.
    const second = await claimEvents(db.pool, 'me', 10, 60_000, 40);
    expect(second).toEqual([]);
  });
});
