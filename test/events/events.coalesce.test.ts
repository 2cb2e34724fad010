import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../src/events/events.coalesce.ts';
import type { BatchEvent, RrResult } from '../../src/rr/index.ts';

const view = (visitor: string, productId: number): BatchEvent => ({
  type: 'view',
  event: { sessionExternalId: visitor, productId },
});

/** A stand-in for one visitorEvents call that records what each call carried. */
function recorder(
  answer: (events: readonly BatchEvent[]) => RrResult<void> = () => ({
    ok: true,
    value: undefined,
    status: 200,
  }),
) {
  const calls: BatchEvent[][] = [];
  const send = async (events: readonly BatchEvent[]) => {
    calls.push([...events]);
    return answer(events);
  };
  return { calls, send };
}

describe('event coalescer (visitorEvents mixing visitors, §4.6)', () => {
  it('sends the parts submitted together in one call, in submission order', async () => {
    const r = recorder();
    const c = createCoalescer(r.send, { lingerMs: 5 });
    const results = await Promise.all([
      c.submit([view('a', 1), view('a', 2)]),
      c.submit([view('b', 3)]),
      c.submit([view('c', 4)]),
    ]);
    expect(results.every((x) => x.ok)).toBe(true);
    expect(r.calls).toEqual([[view('a', 1), view('a', 2), view('b', 3), view('c', 4)]]);
  });

  it('never puts more than 100 events in one call, and never splits a part', async () => {
    const r = recorder();
    const c = createCoalescer(r.send, { lingerMs: 5 });
    const parts = Array.from({ length: 70 }, (_, i) => [view(`v${i}`, 2 * i + 1), view(`v${i}`, 2 * i + 2)]);
    await Promise.all(parts.map((p) => c.submit(p)));
    expect(r.calls.map((call) => call.length)).toEqual([100, 40]);
    expect(r.calls.flat()).toEqual(parts.flat());
  });

  it('re-sends a refused mixed call part by part: only the bad part fails', async () => {
    const refuse = (events: readonly BatchEvent[]): RrResult<void> =>
      events.some((e) => e.event.sessionExternalId === 'bad')
        ? { ok: false, error: { kind: 'http', status: 400, retryable: false, message: 'refused' } }
        : { ok: true, value: undefined, status: 200 };
    const r = recorder(refuse);
    const c = createCoalescer(r.send, { lingerMs: 5 });
    const [a, bad, b] = await Promise.all([
      c.submit([view('a', 1)]),
      c.submit([view('bad', 2)]),
      c.submit([view('b', 3)]),
    ]);
    expect([a.ok, bad.ok, b.ok]).toEqual([true, false, true]);
    expect(r.calls).toHaveLength(4);
  });

  it('gives a retryable failure to every part of the call without sending again', async () => {
    const r = recorder(() => ({
      ok: false,
      error: { kind: 'http', status: 503, retryable: true, message: 'busy' },
    }));
    const c = createCoalescer(r.send, { lingerMs: 5 });
    const results = await Promise.all([c.submit([view('a', 1)]), c.submit([view('b', 2)])]);
    expect(results.map((x) => x.ok)).toEqual([false, false]);
    expect(r.calls).toHaveLength(1);
  });
});
