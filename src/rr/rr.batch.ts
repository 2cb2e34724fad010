import { withRetry, type RetryOptions, type RrError, type RrResult } from './rr.errors.ts';
import { check, parseEmpty, query, type RrCore } from './rr.core.ts';
import type { Priority } from './rr.limiter.ts';
import { BATCH_EVENT_TYPES, EVENT_SCHEMAS, type BatchEvent } from './rr.schemas.ts';

export interface BatchOptions {
  /** Events per visitorEvents call (default and maximum 100). */
  chunkSize?: number;
  /** Visitors sent in parallel (default 8). */
  concurrency?: number;
  /** Deadline of one batch call (default batchTimeoutMs: batches take ~1.5 s, §1.2). */
  timeoutMs?: number;
  /** Backoff for retryable failures of a whole chunk (default 5 retries, 200 ms base). */
  retry?: RetryOptions;
  /** Rate-limit priority (default bulk; the event sender uses interactive, issue 8). */
  priority?: Priority;
}

export interface BatchFailure {
  sessionExternalId?: string;
  /** Positions in the input array of the events that were not stored. */
  indexes: number[];
  error: RrError;
}

export interface BatchReport {
  ok: boolean;
  sentEvents: number;
  sentBatches: number;
  failures: BatchFailure[];
}

interface Item {
  index: number;
  envelope: Record<string, unknown>;
}

const skipped = (after: RrError): RrError => ({
  kind: after.kind,
  retryable: after.retryable,
  status: after.status,
  message: `not sent: an earlier batch of this visitor failed (${after.message})`,
});

/**
 * visitorEvents (§4.6): events are grouped per visitor in input order and cut into chunks; for
 * one visitor at most one batch is in flight (also across calls of `send`), and the next goes only
 * after a 2xx; visitors go in parallel. A chunk that fails with a retryable error is retried whole
 * with backoff; after a permanent failure the visitor's later chunks are not sent, so the order
 * Retail Rocket stores never has a gap followed by newer events.
 */
export function createBatchSender(core: RrCore) {
  const auth = query([
    ['partnerId', core.partnerId],
    ['apiKey', core.apiKey],
  ]);
  const url = `${core.urls.tracking}visitorEvents?${auth}`;
  /** Tail of the per-visitor chain: the next batch for a visitor starts after it. */
  const tails = new Map<string, Promise<void>>();

  async function sendVisitor(visitor: string, items: Item[], o: BatchOptions, report: BatchReport) {
    const size = Math.min(100, Math.max(1, o.chunkSize ?? 100));
    for (let at = 0; at < items.length; at += size) {
      const chunk = items.slice(at, at + size);
      const res = await withRetry(
        () =>
          core.call({
            op: 'event.visitorEvents',
            method: 'POST',
            url,
            body: chunk.map((i) => i.envelope),
            priority: o.priority ?? 'bulk',
            timeoutMs: o.timeoutMs ?? core.batchTimeoutMs,
            parse: parseEmpty,
          }),
        { retries: 5, baseMs: 200, ...o.retry },
      );
      if (res.ok) {
        report.sentEvents += chunk.length;
        report.sentBatches += 1;
        continue;
      }
      report.failures.push({
        sessionExternalId: visitor,
        indexes: chunk.map((i) => i.index),
        error: res.error,
      });
      const rest = items.slice(at + size);
      if (rest.length > 0) {
        report.failures.push({
          sessionExternalId: visitor,
          indexes: rest.map((i) => i.index),
          error: skipped(res.error),
        });
      }
      return;
    }
  }

  /** Runs `fn` after every earlier batch of the same visitor has finished. */
  function serialised(visitor: string, fn: () => Promise<void>): Promise<void> {
    const prev = tails.get(visitor) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    tails.set(visitor, next);
    void next.finally(() => {
      if (tails.get(visitor) === next) tails.delete(visitor);
    });
    return next;
  }

  return async function send(events: readonly BatchEvent[], o: BatchOptions = {}): Promise<BatchReport> {
    const report: BatchReport = { ok: true, sentEvents: 0, sentBatches: 0, failures: [] };
    const byVisitor = new Map<string, Item[]>();
    events.forEach((e, index) => {
      const fail = (error: RrError) =>
        report.failures.push({ sessionExternalId: e?.event?.sessionExternalId, indexes: [index], error });
      if (!e || !(BATCH_EVENT_TYPES as readonly string[]).includes(e.type)) {
        return fail({
          kind: 'invalid',
          retryable: false,
          message: `events[${index}].type: must be one of ${BATCH_EVENT_TYPES.join(', ')}`,
        });
      }
      const body = check(EVENT_SCHEMAS[e.type], e.event, `events[${index}] (${e.type})`);
      if (!body.ok) return fail(body.error);
      const visitor = (body.value as { sessionExternalId: string }).sessionExternalId;
      const list = byVisitor.get(visitor) ?? [];
      list.push({ index, envelope: { [e.type]: body.value } });
      byVisitor.set(visitor, list);
    });

    const visitors = [...byVisitor.entries()];
    const workers = Math.max(1, Math.min(o.concurrency ?? 8, visitors.length));
    let next = 0;
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (next < visitors.length) {
          const [visitor, items] = visitors[next++]!;
          await serialised(visitor, () => sendVisitor(visitor, items, o, report));
        }
      }),
    );
    report.failures.sort((a, b) => a.indexes[0]! - b.indexes[0]!);
    report.ok = report.failures.length === 0;
    return report;
  };
}

export type BatchSender = ReturnType<typeof createBatchSender>;

export interface MixedBatchOptions {
  priority?: Priority;
  /** Deadline of the call (default batchTimeoutMs). */
  timeoutMs?: number;
}

/**
 * ONE visitorEvents call with the events of several visitors mixed (§4.6 allows it), in the
 * order given, at most 100. No retry and no per-visitor serialisation: the caller keeps at most
 * one call in flight per visitor (the event sender does). The same checks as `send`: an event that
 * breaks its schema fails the call before anything is sent.
 */
export function createMixedBatchSender(core: RrCore) {
  const auth = query([
    ['partnerId', core.partnerId],
    ['apiKey', core.apiKey],
  ]);
  const url = `${core.urls.tracking}visitorEvents?${auth}`;
  return async function sendMixed(
    events: readonly BatchEvent[],
    o: MixedBatchOptions = {},
  ): Promise<RrResult<void>> {
    if (events.length === 0 || events.length > 100)
      return {
        ok: false,
        error: { kind: 'invalid', retryable: false, message: 'a batch holds 1 to 100 events' },
      };
    const envelopes: Record<string, unknown>[] = [];
    for (const [index, e] of events.entries()) {
      if (!(BATCH_EVENT_TYPES as readonly string[]).includes(e.type))
        return {
          ok: false,
          error: {
            kind: 'invalid',
            retryable: false,
            message: `events[${index}].type: must be one of ${BATCH_EVENT_TYPES.join(', ')}`,
          },
        };
      const body = check(EVENT_SCHEMAS[e.type], e.event, `events[${index}] (${e.type})`);
      if (!body.ok) return body;
      envelopes.push({ [e.type]: body.value });
    }
    return core.call({
      op: 'event.visitorEvents',
      method: 'POST',
      url,
      body: envelopes,
      priority: o.priority ?? 'bulk',
      timeoutMs: o.timeoutMs ?? core.batchTimeoutMs,
      parse: parseEmpty,
    });
  };
}
