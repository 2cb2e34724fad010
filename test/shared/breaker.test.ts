import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBreaker, type BreakerOptions } from '../../src/shared/breaker.ts';

const OPTS: BreakerOptions = {
  failureThreshold: 3,
  failureRatio: 0.5,
  windowMs: 10_000,
  consecutiveFailures: 20,
  coolDownMs: 10_000,
};

function setup(opts = OPTS) {
  let t = 0;
  const b = createBreaker(opts, () => t);
  return {
    b,
    at(ms: number) {
      t = ms;
    },
    fail(n = 1) {
      for (let i = 0; i < n; i += 1) {
        const a = b.admit();
        if (a !== 'reject') b.record(a, 'failure');
      }
    },
    succeed(n = 1) {
      for (let i = 0; i < n; i += 1) {
        const a = b.admit();
        if (a !== 'reject') b.record(a, 'success');
      }
    },
  };
}

describe('the recommendations circuit breaker', () => {
  it('opens after the threshold of failures when most calls fail, and then refuses at once', () => {
    const { b, fail } = setup();
    fail(2);
    expect(b.snapshot()).toMatchObject({ state: 'closed', failures: 2, calls: 2 });
    fail(1);
    expect(b.snapshot()).toMatchObject({ state: 'open', openedAt: 0, opened: 1 });
    expect(b.admit()).toBe('reject');
  });

  it('a few slow answers among many good ones do not open it: failures must be the ratio of the calls', () => {
    const { b, fail, succeed } = setup();
    succeed(500);
    fail(7); // a cold start: a burst of timeouts, in a row
    expect(b.snapshot()).toMatchObject({ state: 'closed', failures: 7, calls: 507 });
    const { b: b2, fail: fail2, succeed: succeed2 } = setup();
    succeed2(20);
    fail2(19);
    expect(b2.snapshot().state).toBe('closed'); // 19 of 39 failed
    fail2(1);
    expect(b2.snapshot().state).toBe('open'); // 20 of 40
  });

  it('right after a busy healthy period, a long run of failures opens it before the ratio turns', () => {
    const { b, fail, succeed } = setup();
    succeed(5000);
    fail(19);
    expect(b.snapshot().state).toBe('closed');
    succeed(1); // a success breaks the run
    fail(19);
    expect(b.snapshot().state).toBe('closed');
    fail(1);
    expect(b.snapshot()).toMatchObject({ state: 'open', opened: 1 });
  });

  it('outcomes older than the window no longer count', () => {
    const { b, fail, at } = setup();
    fail(2);
    at(10_001);
    fail(1);
    expect(b.snapshot()).toMatchObject({ state: 'closed', failures: 1, calls: 1 });
    at(12_000);
    fail(2);
    expect(b.snapshot().state).toBe('open');
    // Successes leave the window too: what counts is the recent share.
    const s = setup();
    s.succeed(100);
    s.at(10_500);
    s.fail(3);
    expect(s.b.snapshot().state).toBe('open');
  });

  it('after the cool-down lets one probe through; its success closes the breaker', () => {
    const { b, fail, at } = setup();
    expect(b.probeInMs()).toBe(0);
    fail(3);
    expect(b.probeInMs()).toBe(10_000);
    at(9_999);
    expect(b.probeInMs()).toBe(1);
    expect(b.admit()).toBe('reject');
    at(10_000);
    expect(b.probeInMs()).toBe(0);
    expect(b.admit()).toBe('probe');
    expect(b.snapshot().state).toBe('half_open');
    expect(b.admit()).toBe('reject'); // one probe at a time
    b.record('probe', 'success');
    expect(b.snapshot()).toMatchObject({ state: 'closed', failures: 0 });
    expect(b.admit()).toBe('call');
  });

  it('a failed probe opens it again for a full cool-down', () => {
    const { b, fail, at } = setup();
    fail(3);
    at(10_000);
    b.record(b.admit() as 'probe', 'failure');
    expect(b.snapshot()).toMatchObject({ state: 'open', openedAt: 10_000, opened: 2 });
    at(19_999);
    expect(b.admit()).toBe('reject');
    at(20_000);
    expect(b.admit()).toBe('probe');
  });

  it('a probe that says nothing (a cached answer) is given back: the next request probes', () => {
    const { b, fail, at } = setup();
    fail(3);
    at(10_000);
    b.record(b.admit() as 'probe', 'none');
    expect(b.snapshot().state).toBe('open');
    expect(b.admit()).toBe('probe');
  });

  it('a lost probe is replaced after another cool-down', () => {
    const { b, fail, at } = setup();
    fail(3);
    at(10_000);
    expect(b.admit()).toBe('probe');
    at(19_999);
    expect(b.admit()).toBe('reject');
    at(20_000);
    expect(b.admit()).toBe('probe');
  });

  it('a late outcome of a call admitted before it opened changes nothing', () => {
    const { b, fail } = setup();
    const early = b.admit();
    fail(3);
    b.record(early as 'call', 'success');
    expect(b.snapshot().state).toBe('open');
  });

  it('any sequence: closed always calls, open refuses within the cool-down, half-open has one probe out', () => {
    type Step = { dt: number; outcome: 'success' | 'failure' | 'none' | 'pending' };
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 15_000 }),
      outcome: fc.constantFrom<Step['outcome']>('success', 'failure', 'none', 'pending'),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
        const { b, at } = setup();
        let t = 0;
        let probeAt: number | undefined;
        for (const s of steps) {
          t += s.dt;
          at(t);
          const before = b.snapshot();
          const probeIn = b.probeInMs();
          const a = b.admit();
          // What a caller waiting on probeInMs() relies on: open, it is > 0 exactly while refused.
          if (before.state === 'open') expect(probeIn > 0).toBe(a === 'reject');
          else expect(probeIn).toBe(0);
          if (before.state === 'closed') expect(a).toBe('call');
          if (before.state === 'open' && t - before.openedAt! < OPTS.coolDownMs) expect(a).toBe('reject');
          if (before.state === 'half_open' && t - probeAt! < OPTS.coolDownMs) expect(a).toBe('reject');
          if (a === 'probe') probeAt = t;
          // 'pending': the outcome never comes back (a lost call).
          if (a !== 'reject' && s.outcome !== 'pending') b.record(a, s.outcome);
          const after = b.snapshot();
          if (after.state === 'closed')
            expect(
              after.failures < OPTS.failureThreshold || after.failures < after.calls * OPTS.failureRatio,
            ).toBe(true);
        }
      }),
    );
  });

  it('never opens while less than the ratio of the calls fail, however many failures that is', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 3, max: 10 }),
        (gaps, every) => {
          // One failure in `every` calls (at most a third), spaced by random clock steps.
          const { b, at } = setup();
          let t = 0;
          gaps.forEach((dt, i) => {
            t += dt;
            at(t);
            b.record(b.admit() as 'call', i % every === every - 1 ? 'failure' : 'success');
          });
          expect(b.snapshot().opened).toBe(0);
        },
      ),
    );
  });
});
