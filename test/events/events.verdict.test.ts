import { describe, expect, it } from 'vitest';
import { idVerdict, parkedVerdict, sendVerdict, type KnownIds } from '../../src/events/events.verdict.ts';

const known: KnownIds = {
  products: new Map([
    ['1', ['north']],
    ['3', []],
    ['4', []],
  ]),
  groups: new Map([['30', ['3', '4']]]),
  categories: new Map([['2', 'Kitchen/Knives']]),
  categoryPaths: new Set(['Kitchen/Knives']),
  stocks: new Set(['north']),
};

describe('idVerdict', () => {
  it('sends only when every id named is known', () => {
    expect(idVerdict({ productId: 1, stockId: 'north' }, known)).toEqual({ action: 'send' });
    expect(idVerdict({ groupId: 30, productIds: [3, 4] }, known)).toEqual({ action: 'send' });
    expect(idVerdict({ categoryId: 2 }, known)).toEqual({ action: 'send' });
    expect(idVerdict({ categoryPath: 'Kitchen/Knives' }, known)).toEqual({ action: 'send' });
    expect(idVerdict({ searchPhrase: 'x', stockId: 'north' }, known)).toEqual({ action: 'send' });
    expect(idVerdict({ email: 'a@b.c' }, known)).toEqual({ action: 'send' });
  });
  it('parks, naming what is unknown', () => {
    expect(idVerdict({ productId: 9 }, known)).toEqual({ action: 'park', unknown: ['product 9'] });
    expect(idVerdict({ productId: 1, stockId: 'south' }, known)).toEqual({
      action: 'park',
      unknown: ['stock south of product 1'],
    });
    expect(idVerdict({ groupId: 30, productIds: [3, 1] }, known)).toEqual({
      action: 'park',
      unknown: ['product 1 in group 30'],
    });
    expect(idVerdict({ groupId: 31, productIds: [3] }, known).action).toBe('park');
    expect(idVerdict({ categoryId: 7 }, known).action).toBe('park');
    expect(idVerdict({ categoryPath: 'Garden' }, known).action).toBe('park');
    expect(idVerdict({ searchPhrase: 'x', stockId: 'east' }, known).action).toBe('park');
  });
  it('parks what the index has but Retail Rocket was never given (its new record not pushed yet)', () => {
    const pending = { ...known, unpushed: new Set(['product:4', 'stock:1:north', 'group:30']) };
    expect(idVerdict({ productId: 4 }, pending)).toEqual({ action: 'park', unknown: ['product 4'] });
    expect(idVerdict({ productId: 1, stockId: 'north' }, pending)).toEqual({
      action: 'park',
      unknown: ['stock north of product 1'],
    });
    expect(idVerdict({ productId: 1 }, pending)).toEqual({ action: 'send' });
    expect(idVerdict({ groupId: 30, productIds: [3] }, pending)).toEqual({
      action: 'park',
      unknown: ['group 30'],
    });
    expect(idVerdict({ productId: 3 }, pending)).toEqual({ action: 'send' });
  });
});

describe('parkedVerdict', () => {
  it('unparks the known, drops the expired, keeps the rest waiting', () => {
    expect(parkedVerdict(true, true)).toBe('unpark');
    expect(parkedVerdict(false, true)).toBe('drop');
    expect(parkedVerdict(false, false)).toBe('wait');
  });
});

describe('sendVerdict', () => {
  const fail = (e: Record<string, unknown>) => ({
    ok: false as const,
    error: { message: 'm', ...e } as never,
  });
  it('sent on 2xx; dead letter on other 4xx; retry on 5xx, 429 and timeouts, never before Retry-After', () => {
    expect(sendVerdict({ ok: true, value: undefined, status: 200 }, 0, 0)).toEqual({ action: 'sent' });
    expect(sendVerdict(fail({ kind: 'http', status: 400, retryable: false }), 0, 0)).toMatchObject({
      action: 'dead',
      failure: { status: 400, errorKind: 'http', attempts: 1 },
    });
    const r = sendVerdict(fail({ kind: 'http', status: 429, retryable: true, retryAfterMs: 3000 }), 2, 0, {
      backoff: { random: () => 0 },
    });
    expect(r).toMatchObject({ action: 'retry', delayMs: 3000, countAttempt: true });
    expect(sendVerdict(fail({ kind: 'timeout', retryable: true }), 0, 0).action).toBe('retry');
    expect(sendVerdict(fail({ kind: 'rate_limited', retryable: true }), 0, 0)).toMatchObject({
      action: 'retry',
      countAttempt: false,
    });
    expect(sendVerdict(fail({ kind: 'closed', retryable: false }), 0, 0)).toEqual({ action: 'release' });
  });
  it('keeps retrying through a long outage, gives up only past the retry window', () => {
    const e = fail({ kind: 'http', status: 503, retryable: true });
    expect(sendVerdict(e, 40, 3600_000).action).toBe('retry');
    expect(sendVerdict(e, 40, 25 * 3600_000)).toMatchObject({
      action: 'dead',
      failure: { errorKind: 'attempts' },
    });
  });
});
