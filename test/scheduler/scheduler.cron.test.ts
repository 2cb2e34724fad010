import { describe, expect, it } from 'vitest';
import { feedIsStale, previousFireTime, tickOf } from '../../src/scheduler/scheduler.cron.ts';

const at = (iso: string) => new Date(iso);

describe('previousFireTime', () => {
  it('finds the latest nightly fire time in the configured time zone', () => {
    // 02:00 in Berlin is 01:00 UTC in winter.
    expect(previousFireTime('0 2 * * *', 'Europe/Berlin', at('2026-12-01T10:00:00Z'))).toEqual(
      at('2026-12-01T01:00:00Z'),
    );
    // Before today's 02:00 Berlin: yesterday's.
    expect(previousFireTime('0 2 * * *', 'Europe/Berlin', at('2026-12-01T00:30:00Z'))).toEqual(
      at('2026-11-30T01:00:00Z'),
    );
    expect(previousFireTime('0 2 * * *', 'UTC', at('2026-12-01T10:00:00Z'))).toEqual(
      at('2026-12-01T02:00:00Z'),
    );
  });

  it('counts a fire time equal to now, and follows daylight saving time', () => {
    expect(previousFireTime('*/15 * * * *', 'UTC', at('2026-12-01T10:15:00Z'))).toEqual(
      at('2026-12-01T10:15:00Z'),
    );
    expect(previousFireTime('*/15 * * * *', 'UTC', at('2026-12-01T10:14:59.999Z'))).toEqual(
      at('2026-12-01T10:00:00Z'),
    );
    // Summer: 02:00 in Berlin is 00:00 UTC.
    expect(previousFireTime('0 2 * * *', 'Europe/Berlin', at('2026-07-01T10:00:00Z'))).toEqual(
      at('2026-07-01T00:00:00Z'),
    );
    // India is UTC+05:30: minute boundaries still line up.
    expect(previousFireTime('30 6 * * *', 'Asia/Kolkata', at('2026-12-01T10:00:00Z'))).toEqual(
      at('2026-12-01T01:00:00Z'),
    );
  });

  it('handles seconds crons to the second', () => {
    expect(previousFireTime('*/2 * * * * *', 'UTC', at('2026-12-01T10:00:05.500Z'))).toEqual(
      at('2026-12-01T10:00:04Z'),
    );
    // The last slot of the previous minute when none of this minute has come yet.
    expect(previousFireTime('50 * * * * *', 'UTC', at('2026-12-01T10:00:05Z'))).toEqual(
      at('2026-12-01T09:59:50Z'),
    );
  });

  it('finds weekly fire times, and gives null beyond its look-back window', () => {
    // 2026-12-01 is a Tuesday; the previous Sunday 03:00 UTC is 2026-11-29.
    expect(previousFireTime('0 3 * * 0', 'UTC', at('2026-12-01T10:00:00Z'))).toEqual(
      at('2026-11-29T03:00:00Z'),
    );
    // Once a year (1 January): not within 45 days of 1 December.
    expect(previousFireTime('0 0 1 1 *', 'UTC', at('2026-12-01T10:00:00Z'))).toBeNull();
  });
});

describe('feedIsStale', () => {
  const previous = at('2026-12-01T02:00:00Z');
  it('is stale with no successful feed at all', () => {
    expect(feedIsStale(null, previous)).toBe(true);
    expect(feedIsStale(null, null)).toBe(true);
  });
  it('is stale when the last success is older than the previous fire time, fresh otherwise', () => {
    expect(feedIsStale(at('2026-12-01T01:59:59Z'), previous)).toBe(true);
    expect(feedIsStale(at('2026-12-01T02:00:00Z'), previous)).toBe(false);
    expect(feedIsStale(at('2026-12-01T09:00:00Z'), previous)).toBe(false);
  });
  it('is fresh when the cron has not fired within the look-back window but a feed exists', () => {
    expect(feedIsStale(at('2026-01-01T00:00:00Z'), null)).toBe(false);
  });
});

describe('tickOf', () => {
  it('is the slot to the second, the same for every instance', () => {
    expect(tickOf(at('2026-12-01T10:00:04.000Z'))).toEqual(at('2026-12-01T10:00:04Z'));
    expect(tickOf(at('2026-12-01T10:00:04.999Z'))).toEqual(at('2026-12-01T10:00:04Z'));
  });
});
