import { describe, expect, it } from 'vitest';
import { sameJson, stableJson } from '../../src/sync/product-api.mapping.ts';

describe('sameJson (the item comparison of the apply step)', () => {
  const cases: [unknown, unknown][] = [
    [
      { a: 1, b: [1, { c: 'x' }] },
      { b: [1, { c: 'x' }], a: 1 },
    ],
    [{ a: 1 }, { a: 1, b: undefined }],
    [{ a: 1 }, { a: 1, b: null }],
    [{ a: 1 }, { a: '1' }],
    [{ a: [1, 2] }, { a: [2, 1] }],
    [{ a: [] }, { a: {} }],
    [{ a: { b: 1 } }, { a: { b: 1, c: 2 } }],
    [null, {}],
    [3.5, 3.5],
  ];
  it.each(cases)('agrees with stableJson equality: %j vs %j', (a, b) => {
    expect(sameJson(a, b)).toBe(stableJson(a) === stableJson(b));
    expect(sameJson(b, a)).toBe(stableJson(a) === stableJson(b));
  });
});
