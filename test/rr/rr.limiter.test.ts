import { describe, expect, it } from 'vitest';
import { createRateLimiter, type Priority } from '../../src/rr/index.ts';

const far = () => performance.now() + 5000;

describe('rate limiter', () => {
  it('keeps the reserved share of the bucket for interactive calls', () => {
    // 100/s with 0.1 s of burst: 10 tokens, 2 of them reserved for interactive calls.
    const limiter = createRateLimiter({ ratePerSecond: 100 });
    const bulk = Array.from({ length: 8 }, () => limiter.acquire('bulk', far()));
    expect(bulk).toEqual(Array(8).fill(null));
    const ninth = limiter.acquire('bulk', far());
    expect(ninth).toBeInstanceOf(Promise);
    expect(limiter.acquire('interactive', far())).toBeNull();
    expect(limiter.acquire('interactive', far())).toBeNull();
    limiter.close();
  });

  it('serves queued interactive calls before bulk calls that queued earlier', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 200, burstSeconds: 0.005 });
    while (limiter.acquire('interactive', far()) === null) {
      /* drain the bucket */
    }
    const order: string[] = [];
    const wait = (p: Priority, name: string) =>
      Promise.resolve(limiter.acquire(p, far())).then((r) => {
        expect(r).toBeNull();
        order.push(name);
      });
    const all = [
      wait('bulk', 'b1'),
      wait('bulk', 'b2'),
      wait('interactive', 'i1'),
      wait('interactive', 'i2'),
    ];
    await Promise.all(all);
    expect(order).toEqual(['i1', 'i2', 'b1', 'b2']);
    limiter.close();
  });

  it('fails fast with rate_limited when the wait would pass the deadline', () => {
    const limiter = createRateLimiter({ ratePerSecond: 10 });
    expect(limiter.acquire('interactive', far())).toBeNull();
    const started = performance.now();
    const res = limiter.acquire('interactive', started + 50);
    expect(res).toMatchObject({ kind: 'rate_limited', retryable: true });
    limiter.close();
  });

  it('bounds its queues', () => {
    const limiter = createRateLimiter({ ratePerSecond: 10, maxQueued: { interactive: 2 } });
    limiter.acquire('interactive', far());
    const a = limiter.acquire('interactive', far());
    const b = limiter.acquire('interactive', far());
    const c = limiter.acquire('interactive', far());
    expect(a).toBeInstanceOf(Promise);
    expect(b).toBeInstanceOf(Promise);
    expect(c).toMatchObject({ kind: 'rate_limited', message: expect.stringContaining('queue full') });
    limiter.close();
  });

  it('gives a queued bulk call rate_limited at its deadline while interactive calls keep overtaking it', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 20 }); // one token per 50 ms, bucket of 2
    while (limiter.acquire('interactive', far()) === null) {
      /* drain */
    }
    const started = performance.now();
    const bulk = Promise.resolve(limiter.acquire('bulk', started + 120));
    const interactive = [1, 2, 3].map(() => Promise.resolve(limiter.acquire('interactive', far())));
    const res = await bulk;
    expect(res).toMatchObject({ kind: 'rate_limited' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
    expect(await Promise.all(interactive)).toEqual([null, null, null]);
    limiter.close();
  });
});
