import type { BatchEvent, RrResult } from '../rr/index.ts';

/** One visitorEvents call for several visitors' events (the client's sendVisitorEvents). */
export type MixedSend = (events: readonly BatchEvent[]) => Promise<RrResult<void>>;

export interface CoalescerOptions {
  /** Events per call (default and maximum 100, §4.6). */
  maxEvents?: number;
  /** How long a part waits for others before its call goes (default 5 ms). */
  lingerMs?: number;
}

export interface Coalescer {
  /** Send `events` (one visitor's, in order, ≤ maxEvents) in a call shared with other visitors. */
  submit(events: readonly BatchEvent[]): Promise<RrResult<void>>;
}

interface Part {
  events: readonly BatchEvent[];
  resolve(result: RrResult<void>): void;
}

/**
 * The tracking API allows 100 requests/s per site (§1.3) and the visitorEvents batch may mix
 * visitors (§4.6): so the parts that the sender's per-visitor loops submit at about the same time
 * go out together, up to 100 events per call. Each visitor has at most one part waiting or in
 * flight (its loop awaits the result), which keeps the per-visitor rule "never two batches in
 * flight". A batch is stored whole or not at all: a refused (non-retryable) mixed call is sent
 * again part by part, so one bad event does not take other visitors' events down with it.
 */
export function createCoalescer(send: MixedSend, options: CoalescerOptions = {}): Coalescer {
  const maxEvents = Math.min(100, Math.max(1, options.maxEvents ?? 100));
  const lingerMs = options.lingerMs ?? 5;
  let parts: Part[] = [];
  let count = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = (part: Part, work: Promise<RrResult<void>>) =>
    work.then(part.resolve, (err: unknown) =>
      part.resolve({
        ok: false,
        error: { kind: 'network', retryable: true, message: `event batch failed: ${(err as Error).message}` },
      }),
    );

  async function sendParts(batch: Part[]): Promise<void> {
    const result = await send(batch.flatMap((p) => p.events)).catch((err: unknown): RrResult<void> => ({
      ok: false,
      error: { kind: 'network', retryable: true, message: `event batch failed: ${(err as Error).message}` },
    }));
    if (result.ok || result.error.retryable || batch.length === 1) {
      for (const p of batch) p.resolve(result);
      return;
    }
    await Promise.all(batch.map((p) => settle(p, send(p.events))));
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = parts;
    parts = [];
    count = 0;
    if (batch.length > 0) void sendParts(batch);
  }

  return {
    submit(events) {
      return new Promise<RrResult<void>>((resolve) => {
        if (events.length >= maxEvents) return void settle({ events, resolve }, send(events));
        if (count + events.length > maxEvents) flush();
        parts.push({ events, resolve });
        count += events.length;
        if (count >= maxEvents) flush();
        else timer ??= setTimeout(flush, lingerMs);
      });
    },
  };
}
