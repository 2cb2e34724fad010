import { afterEach, describe, expect, it } from 'vitest';
import { createRetailRocketClient, type BatchEvent, type RetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { rrConfig } from './rr.helpers.ts';
import { reply, startTestServer, type TestServer } from './rr.servers.ts';

let server: TestServer | undefined;
let client: RetailRocketClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

type Envelope = Record<string, { sessionExternalId: string; productId?: number }>;

/** A visitorEvents peer that records, per visitor, the order it stored and the most batches in flight. */
async function startBatchPeer(opts: { delayMs?: number; statuses?: number[] } = {}) {
  const stored = new Map<string, number[]>();
  const inFlight = new Map<string, number>();
  let maxInFlightPerVisitor = 0;
  let maxInFlight = 0;
  let current = 0;
  const sizes: number[] = [];
  const statuses = [...(opts.statuses ?? [])];
  server = await startTestServer('h2', async (_req, res, body) => {
    const batch = JSON.parse(body) as Envelope[];
    const visitors = new Set(batch.map((e) => Object.values(e)[0]!.sessionExternalId));
    sizes.push(batch.length);
    current++;
    maxInFlight = Math.max(maxInFlight, current);
    for (const v of visitors) {
      inFlight.set(v, (inFlight.get(v) ?? 0) + 1);
      maxInFlightPerVisitor = Math.max(maxInFlightPerVisitor, inFlight.get(v)!);
    }
    await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
    const status = statuses.shift() ?? 200;
    if (status === 200) {
      for (const e of batch) {
        const ev = Object.values(e)[0]!;
        stored.set(ev.sessionExternalId, [...(stored.get(ev.sessionExternalId) ?? []), ev.productId!]);
      }
    }
    for (const v of visitors) inFlight.set(v, inFlight.get(v)! - 1);
    current--;
    reply(res, status, {});
  });
  const { testTls } = await import('./rr.servers.ts');
  const { caFile } = await testTls();
  client = createRetailRocketClient(rrConfig(server.url, { caFile }), { logger: silentLogger });
  return {
    client,
    stored,
    sizes,
    maxInFlightPerVisitor: () => maxInFlightPerVisitor,
    maxInFlight: () => maxInFlight,
  };
}

const views = (visitor: string, from: number, n: number): BatchEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    type: 'view',
    event: { sessionExternalId: visitor, productId: from + i, timestamp: new Date(1_700_000_000_000 + i) },
  }));

describe('visitorEvents batch', () => {
  it('keeps each visitor’s order, one batch in flight per visitor, visitors in parallel, chunks ≤ 100', async () => {
    const peer = await startBatchPeer({ delayMs: 10 });
    const events: BatchEvent[] = [];
    for (let i = 0; i < 250; i++) {
      for (const v of ['anna', 'bob', 'cleo']) events.push(views(v, 1 + i, 1)[0]!);
    }
    // A second call for the same visitors while the first one is still running.
    const [first, second] = await Promise.all([
      peer.client.sendBatch(events, { chunkSize: 100 }),
      peer.client.sendBatch(views('anna', 1000, 30)),
    ]);
    expect(first).toMatchObject({ ok: true, sentEvents: 750, sentBatches: 9, failures: [] });
    expect(second).toMatchObject({ ok: true, sentEvents: 30 });
    expect(Math.max(...peer.sizes)).toBeLessThanOrEqual(100);
    expect(peer.maxInFlightPerVisitor()).toBe(1);
    expect(peer.maxInFlight()).toBeGreaterThan(1);
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    expect(peer.stored.get('anna')).toEqual([...range(1, 250), ...range(1000, 30)]);
    expect(peer.stored.get('bob')).toEqual(range(1, 250));
  });

  it('retries a chunk whole after a 503 and keeps the order', async () => {
    const peer = await startBatchPeer({ statuses: [503] });
    const report = await peer.client.sendBatch(views('anna', 1, 150), { retry: { baseMs: 1 } });
    expect(report).toMatchObject({ ok: true, sentEvents: 150, sentBatches: 2 });
    expect(peer.sizes).toEqual([100, 100, 50]);
    expect(peer.stored.get('anna')).toEqual(Array.from({ length: 150 }, (_, i) => 1 + i));
  });

  it('does not retry a 400 and does not send that visitor’s later chunks', async () => {
    const peer = await startBatchPeer({ statuses: [400] });
    const report = await peer.client.sendBatch(views('anna', 1, 150), { retry: { baseMs: 1 } });
    expect(report.ok).toBe(false);
    expect(peer.sizes).toEqual([100]);
    expect(report.failures).toHaveLength(2);
    expect(report.failures[0]).toMatchObject({ error: { kind: 'http', status: 400, retryable: false } });
    expect(report.failures[0]!.indexes).toHaveLength(100);
    expect(report.failures[1]!.indexes).toEqual(Array.from({ length: 50 }, (_, i) => 100 + i));
  });

  it('reports an invalid event by its index and sends the valid ones', async () => {
    const peer = await startBatchPeer();
    const events: BatchEvent[] = [
      ...views('anna', 1, 2),
      { type: 'view', event: { sessionExternalId: 'anna', productId: -1 } },
    ];
    const report = await peer.client.sendBatch(events);
    expect(report.sentEvents).toBe(2);
    expect(report.failures).toMatchObject([
      { indexes: [2], error: { kind: 'invalid', message: expect.stringContaining('productId') } },
    ]);
  });

  it('sends several visitors in ONE call with sendVisitorEvents, in the order given', async () => {
    const peer = await startBatchPeer();
    const mixed = [...views('anna', 1, 2), ...views('bob', 10, 1), ...views('anna', 3, 1)];
    const result = await peer.client.sendVisitorEvents(mixed);
    expect(result.ok).toBe(true);
    expect(peer.sizes).toEqual([4]);
    expect(peer.stored.get('anna')).toEqual([1, 2, 3]);
    expect(peer.stored.get('bob')).toEqual([10]);
  });

  it('refuses a mixed call over 100 events or with an invalid event, sending nothing', async () => {
    const peer = await startBatchPeer();
    const tooMany = await peer.client.sendVisitorEvents(views('anna', 1, 101));
    const invalid = await peer.client.sendVisitorEvents([
      ...views('anna', 1, 1),
      { type: 'view', event: { sessionExternalId: 'anna', productId: 0 } },
    ]);
    expect(tooMany).toMatchObject({ ok: false, error: { kind: 'invalid', retryable: false } });
    expect(invalid).toMatchObject({
      ok: false,
      error: { kind: 'invalid', message: expect.stringContaining('events[1]') },
    });
    expect(peer.sizes).toEqual([]);
  });
});
