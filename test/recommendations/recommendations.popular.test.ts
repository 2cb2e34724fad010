import { describe, expect, it } from 'vitest';
import { popularEvery } from '../../src/recommendations/recommendations.fallback.ts';

/** A popularity source over a fixed ranking that counts its reads. */
function ranking(ids: string[]) {
  const src = {
    reads: 0,
    fail: false,
    read: async (limit: number, exclude: readonly string[]) => {
      src.reads += 1;
      if (src.fail) throw new Error('database gone');
      return ids.filter((id) => !exclude.includes(id)).slice(0, limit);
    },
  };
  return src;
}

describe('the popular products, read once per interval', () => {
  const ids = Array.from({ length: 30 }, (_, i) => String(100 + i));

  it('gives what the source would, exclusions applied, from one read per interval', async () => {
    const src = ranking(ids);
    let t = 0;
    const popular = popularEvery(src.read, { ttlMs: 1000, depth: 10, clock: () => t });
    expect(await popular(3, ['100', '102'])).toEqual(await src.read(3, ['100', '102']));
    expect(await popular(5, [])).toEqual(ids.slice(0, 5));
    expect(src.reads).toBe(2); // the one read popularEvery made, and the test's own
    t = 1000;
    await popular(2, []);
    expect(src.reads).toBe(3);
  });

  it('asks the source itself when the exclusions leave too few of the cut list, or more is wanted than kept', async () => {
    const src = ranking(ids);
    const popular = popularEvery(src.read, { ttlMs: 1000, depth: 10, clock: () => 0 });
    const exclude = ids.slice(0, 8);
    expect(await popular(2, exclude)).toEqual(['108', '109']);
    const reads = src.reads;
    expect(await popular(2, ids.slice(0, 9))).toEqual(['109', '110']);
    expect(src.reads).toBe(reads + 1);
    expect(await popular(20, [])).toEqual(ids.slice(0, 20));
  });

  it('keeps no failed read: the next request tries again', async () => {
    const src = ranking(ids);
    const popular = popularEvery(src.read, { ttlMs: 60_000, depth: 10, clock: () => 0 });
    src.fail = true;
    await expect(popular(3, [])).rejects.toThrow('database gone');
    src.fail = false;
    expect(await popular(3, [])).toEqual(ids.slice(0, 3));
  });
});
