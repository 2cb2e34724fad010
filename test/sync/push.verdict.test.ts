import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RrError, RrResult } from '../../src/rr/index.ts';
import { createConcurrencyLimit, createPacer } from '../../src/sync/push.pacer.ts';
import { createReachability, pushVerdict } from '../../src/sync/push.verdict.ts';

const ok: RrResult<void> = { ok: true, status: 200, value: undefined };
const fail = (error: Partial<RrError> & Pick<RrError, 'kind'>): RrResult<void> => ({
  ok: false,
  error: { retryable: false, message: `failed: ${error.kind}`, ...error },
});
const http = (status: number, retryAfterMs?: number) =>
  fail({ kind: 'http', status, retryable: status === 429 || status === 408 || status >= 500, retryAfterMs });

describe('pushVerdict', () => {
  it('completes on 2xx', () => {
    expect(pushVerdict(ok, 0, 10)).toEqual({ action: 'complete' });
  });

  it.each([400, 401, 403, 404, 409, 422])('dead-letters a %i at once, with its status', (status) => {
    expect(pushVerdict(http(status), 0, 10)).toEqual({
      action: 'dead',
      failure: { status, errorKind: 'http', reason: `failed: http`, attempts: 1 },
    });
  });

  it('dead-letters an invalid body at once', () => {
    expect(pushVerdict(fail({ kind: 'invalid', message: 'price: must be > 0' }), 2, 10)).toEqual({
      action: 'dead',
      failure: { errorKind: 'invalid', reason: 'price: must be > 0', attempts: 3 },
    });
  });

  it.each([
    ['timeout', fail({ kind: 'timeout', retryable: true })],
    ['network', fail({ kind: 'network', retryable: true })],
    ['500', http(500)],
    ['503', http(503)],
    ['429', http(429)],
  ])('retries a %s with full-jitter backoff, counting the attempt', (_name, result) => {
    expect(pushVerdict(result, 3, 10, { random: () => 0.5 })).toEqual({
      action: 'retry',
      delayMs: 4000, // half of the 8 s cap of attempt 3 (base 1 s)
      countAttempt: true,
      error: (result as { error: RrError }).error.message,
    });
  });

  it('never retries before Retry-After, whatever the jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 0.9999, noNaN: true }),
        fc.integer({ min: 0, max: 300_000 }),
        (attempts, r, retryAfterMs) => {
          const v = pushVerdict(http(429, retryAfterMs), attempts, 1000, { random: () => r });
          return (
            v.action === 'retry' && v.delayMs >= retryAfterMs && v.delayMs <= Math.max(300_000, retryAfterMs)
          );
        },
      ),
    );
  });

  it('gives up after maxAttempts failed calls with error kind attempts', () => {
    expect(pushVerdict(http(503), 9, 10)).toEqual({
      action: 'dead',
      failure: {
        status: 503,
        errorKind: 'attempts',
        reason: 'gave up after 10 attempts; last: failed: http',
        attempts: 10,
      },
    });
    expect(pushVerdict(http(503), 8, 10).action).toBe('retry');
  });

  it('retries a refusal of the client own limiter without counting an attempt', () => {
    expect(pushVerdict(fail({ kind: 'rate_limited', retryable: true, retryAfterMs: 250 }), 9, 10)).toEqual({
      action: 'retry',
      delayMs: 250,
      countAttempt: false,
      error: 'failed: rate_limited',
    });
  });

  it('releases the row when the client was closed', () => {
    expect(pushVerdict(fail({ kind: 'closed' }), 0, 10)).toEqual({ action: 'release' });
  });
});

describe('createReachability', () => {
  it('calls Retail Rocket unreachable once every call over the window got no answer', () => {
    let t = 0;
    const r = createReachability(5000, () => t);
    r.record(fail({ kind: 'network', retryable: true }));
    t = 4999;
    r.record(fail({ kind: 'timeout', retryable: true }));
    expect([r.failing(), r.unreachable()]).toEqual([true, false]);
    t = 5000;
    r.record(fail({ kind: 'network', retryable: true }));
    expect(r.unreachable()).toBe(true);
  });

  it('any answer, even a 503, proves it reachable; refusals before sending prove nothing', () => {
    let t = 0;
    const r = createReachability(1000, () => t);
    r.record(fail({ kind: 'network', retryable: true }));
    t = 600;
    r.record(http(503));
    t = 1200;
    r.record(fail({ kind: 'network', retryable: true }));
    expect(r.unreachable()).toBe(false);
    t = 1900;
    r.record(fail({ kind: 'invalid' }));
    r.record(fail({ kind: 'rate_limited', retryable: true }));
    t = 2200;
    r.record(fail({ kind: 'timeout', retryable: true }));
    expect(r.unreachable()).toBe(true);
    r.record(ok);
    expect([r.failing(), r.unreachable()]).toEqual([false, false]);
  });
});

describe('createPacer', () => {
  it('keeps the average at the rate however late the timers fire (up to the burst window)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 50, maxLength: 400 }),
        (rate, lateness) => {
          let t = 0;
          const pacer = createPacer(rate, { now: () => t, burstSeconds: 0.05 });
          let sent = 0;
          for (const late of lateness) {
            const wait = pacer.take();
            if (wait === 0) sent++;
            else t += wait + late; // a timer that fires `late` ms after it was due
          }
          // Never above the rate (plus the first token) ...
          expect(sent).toBeLessThanOrEqual(1 + (t * rate) / 1000 + 1e-9);
          return true;
        },
      ),
    );
  });

  it('sends exactly at the rate when timers are on time, and idle time is not spent as a burst', () => {
    let t = 0;
    const pacer = createPacer(500, { now: () => t });
    let sent = 0;
    while (t < 10_000) {
      const wait = pacer.take();
      if (wait === 0) sent++;
      else t += wait;
    }
    // The first token at t = 0, then one every 2 ms (the last one may miss by a float rounding).
    expect(sent).toBeGreaterThanOrEqual(5000);
    expect(sent).toBeLessThanOrEqual(5001);
    t += 60_000;
    pacer.idle();
    expect(pacer.take()).toBe(0);
    expect(pacer.take()).toBeGreaterThan(0);
  });

  it('catches up after late timers, so the achieved rate stays within 5 % of the target', () => {
    let t = 0;
    const pacer = createPacer(500, { now: () => t });
    let sent = 0;
    let i = 0;
    while (t < 10_000) {
      const wait = pacer.take();
      if (wait === 0) sent++;
      else t += wait + (i++ % 10 === 0 ? 30 : 3); // every timer late, some by 30 ms
    }
    expect(Math.abs(sent / 5000 - 1)).toBeLessThan(0.05);
  });
});

describe('createConcurrencyLimit', () => {
  it('doubles per round until the first timeout, then halves on timeouts and grows by one per round', () => {
    let t = 0;
    const w = createConcurrencyLimit({ min: 4, max: 256, start: 16, coolDownMs: 500 }, () => t);
    for (let i = 0; i < 16; i++) w.success(); // one round of answers: slow start doubles
    expect(w.get()).toBe(32);
    w.timeout();
    w.timeout(); // the same burst of timeouts: one cut
    expect(w.get()).toBe(16);
    t = 500;
    w.timeout();
    expect(w.get()).toBe(8);
    for (let i = 0; i < 9; i++) w.success(); // after a cut: about one more per round
    expect(w.get()).toBe(9);
    for (let i = 0; i < 10; i++, t += 500) w.timeout();
    expect(w.get()).toBe(4); // never below min
    for (let i = 0; i < 100_000; i++) w.success();
    expect(w.get()).toBe(256); // never above max
  });
});
