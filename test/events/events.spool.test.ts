import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/pool.ts';
import { compareIds } from '../../src/events/events.repository.ts';
import { createSpoolWriter } from '../../src/events/events.spool.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

/**
 * The pool, with each statement held back a random moment before it is sent: two INSERTs in
 * flight then reach the server in either order, and draw their ids in that order.
 */
function jittery(delays: () => number) {
  const stats = { inFlight: 0, maxInFlight: 0 };
  const q: Queryable = {
    query: (async (...args: unknown[]) => {
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      try {
        await new Promise((r) => setTimeout(r, delays()));
        return await (db.pool.query as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        stats.inFlight -= 1;
      }
    }) as Queryable['query'],
  };
  return { q, stats };
}

describe('the spool writer (group commit, two INSERTs in flight)', () => {
  it("keeps each visitor's events in the order they were written, whatever order the INSERTs run in", async () => {
    await fc.assert(
      fc.asyncProperty(
        // Per write: which visitor, how many events (a batch), and the gap before the next write.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.nat(3)), {
          minLength: 20,
          maxLength: 80,
        }),
        fc.array(fc.nat(6), { minLength: 1, maxLength: 20 }),
        async (writes, jitter) => {
          let j = 0;
          const { q, stats } = jittery(() => jitter[j++ % jitter.length]!);
          const spool = createSpoolWriter(q, silentLogger, { windowMs: 1, maxEvents: 8 });
          const written: { visitor: string; seq: number; id: Promise<string[]> }[] = [];
          const seq = new Map<string, number>();
          for (const [v, n, gap] of writes) {
            const visitor = `v${v}`;
            const rows = Array.from({ length: n }, () => {
              const s = (seq.get(visitor) ?? 0) + 1;
              seq.set(visitor, s);
              return { visitor, type: 'view' as const, body: { sessionExternalId: visitor, productId: s } };
            });
            written.push({ visitor, seq: rows[0]!.body.productId, id: spool.write(rows) });
            if (gap > 0) await new Promise((r) => setTimeout(r, gap));
          }
          await Promise.all(written.map((w) => w.id));
          await spool.close();
          expect(stats.maxInFlight).toBeLessThanOrEqual(2);
          // Per visitor, the ids in write order are increasing.
          const last = new Map<string, string>();
          for (const w of written) {
            for (const id of await w.id) {
              const prev = last.get(w.visitor);
              if (prev !== undefined) expect(compareIds(prev, id)).toBeLessThan(0);
              last.set(w.visitor, id);
            }
          }
          const total = writes.reduce((a, [, n]) => a + n, 0);
          expect(spool.stats().events).toBe(total);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('runs a second INSERT while the first commits, and never a third', async () => {
    const { q, stats } = jittery(() => 20);
    const spool = createSpoolWriter(q, silentLogger, { windowMs: 1 });
    const writes: Promise<string[]>[] = [];
    for (let i = 0; i < 30; i += 1) {
      writes.push(
        spool.write([{ visitor: `w${i}`, type: 'view', body: { sessionExternalId: `w${i}`, productId: i } }]),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    const ids = (await Promise.all(writes)).flat();
    expect(new Set(ids).size).toBe(30);
    expect(stats.maxInFlight).toBe(2);
    expect(spool.stats().commits).toBeLessThan(30);
    await spool.close();
  });
});
