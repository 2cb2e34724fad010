import { describe, expect, it } from 'vitest';
import { acceptsGzip, ifNoneMatchHits, notModifiedSince } from '../../src/server/feed.conditional.ts';

describe('Accept-Encoding parsing', () => {
  it.each([
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['deflate, gzip;q=0.1', true],
    ['gzip ; q=1.000', true],
    ['*', true],
    ['br, *;q=0.5', true],
    [undefined, false],
    ['', false],
    ['identity', false],
    ['deflate, br', false],
    ['gzip;q=0', false],
    ['gzip;q=0.0', false],
    ['*;q=0', false],
    ['gzip;q=0, *', false],
    ['*, gzip;q=0', false],
    ['gzip;q=bogus', false],
  ])('%j accepts gzip: %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('conditional request matching', () => {
  it('matches If-None-Match lists with the weak comparison, and *', () => {
    expect(ifNoneMatchHits('"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('W/"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('"x", W/"y" ,"abc"', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('"a,b", "c"', '"a,b"')).toBe(true);
    expect(ifNoneMatchHits(' * ', '"abc"')).toBe(true);
    expect(ifNoneMatchHits('"abcd"', '"abc"')).toBe(false);
    expect(ifNoneMatchHits('abc', '"abc"')).toBe(false);
    expect(ifNoneMatchHits('', '"abc"')).toBe(false);
  });

  it('compares If-Modified-Since in whole seconds and ignores invalid dates', () => {
    const lm = Date.parse('2026-11-28T02:00:00.750Z');
    expect(notModifiedSince('Sat, 28 Nov 2026 02:00:00 GMT', lm)).toBe(true);
    expect(notModifiedSince('Sat, 28 Nov 2026 01:59:59 GMT', lm)).toBe(false);
    expect(notModifiedSince('not a date', lm)).toBe(false);
  });
});
