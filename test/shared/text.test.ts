import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { count, formatDuration, grouped } from '../../src/shared/text.ts';

describe('count', () => {
  it('uses the singular for exactly one', () => {
    expect(count(1, 'offer')).toBe('1 offer');
    expect(count(0, 'offer')).toBe('0 offers');
    expect(count(2, 'category', 'categories')).toBe('2 categories');
    expect(count(1, 'category', 'categories')).toBe('1 category');
    expect(count(1_000_000, 'product', undefined, grouped)).toBe('1,000,000 products');
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0.0 s'],
    [2.345, '2.3 s'],
    [9.94, '9.9 s'],
    [9.96, '10 s'],
    [42.4, '42 s'],
    [59.6, '1 min 00 s'],
    [187.2, '3 min 07 s'],
    [3599.4, '59 min 59 s'],
    [3600, '1 h 00 min'],
    [3 * 3600 + 5 * 60 + 29, '3 h 05 min'],
    [Number.NaN, '? s'],
  ])('%d s reads as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('never shows more than one decimal and never goes backwards (property)', () => {
    const value = (t: string) => {
      const h = /(\d+) h (\d+) min/.exec(t);
      if (h) return Number(h[1]) * 3600 + Number(h[2]) * 60;
      const m = /(\d+) min (\d+) s/.exec(t);
      if (m) return Number(m[1]) * 60 + Number(m[2]);
      return Number(/([\d.]+) s/.exec(t)![1]);
    };
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(formatDuration(lo)).toMatch(/^(\d+\.\d s|\d+ s|\d+ min \d\d s|\d+ h \d\d min)$/);
          expect(value(formatDuration(lo))).toBeLessThanOrEqual(value(formatDuration(hi)));
        },
      ),
    );
  });
});
