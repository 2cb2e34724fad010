import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BATCH_EVENT_TYPES,
  type BatchEvent,
  type RetailRocketClient,
  type RrError,
  type RrResult,
} from '../rr/index.ts';
import type {
  EventSender,
  EventSenderDeps,
  RecheckReport,
  SendReport,
  SpoolRow,
} from './events.contracts.ts';
import { createCoalescer } from './events.coalesce.ts';
import { lookupKnown } from './events.known.ts';
import {
  claimEvents,
  deadLetterEvents,
  dropParked,
  finishSent,
  listParked,
  nextDueInMs,
  parkEvents,
  releaseEventLeases,
  retryEvents,
  unparkEvents,
  type EventDeadLetter,
  type EventRetry,
  vacuumSpool,
} from './events.repository.ts';
import { idVerdict, parkedVerdict, sendVerdict, type SendVerdictOptions } from './events.verdict.ts';
import { createBreaker, type BreakerOptions, type Outcome } from '../shared/breaker.ts';
import { settleWithin } from '../shared/settle.ts';
import { createWakeable } from '../shared/wakeable.ts';

export interface EventSenderOptions {
  /** Events per claim (default 500). */
  claimBatch?: number;
  /**
   * A claim that found less than a full batch is followed by the next one no sooner than this
   * (default 50 ms): under a steady stream the sender takes what several group commits stored in
   * one claim instead of one claim per commit. At 2,000 events/s that is one visitorEvents call
   * of up to 100 events per claim; against 20 ms it used ~15 % of a core less over the service,
   * PostgreSQL and Retail Rocket together (bench:api), time the spool's INSERTs and the shop's
   * answers wait for on a busy host. A backlog is claimed without a pause.
   */
  gatherMs?: number;
  /** Claims being sent at once (default 4): one slow visitor does not hold up the others. */
  batchesInFlight?: number;
  /**
   * Visitors of one claim sent in parallel (default 500; one visitor's events always in order).
   * Their parts share visitorEvents calls (events.coalesce.ts), so this is not a call count.
   */
  visitorConcurrency?: number;
  /** How long a claim is ours (default 2 min); a crashed sender's events come back after it. */
  leaseMs?: number;
  /** Poll for other instances' events and due retries this often (default 2 s). */
  pollMs?: number;
  /** Re-check parked events this often (default 1 min). */
  recheckMs?: number;
  /** Deadline of one visitorEvents call (default 10 s: batches are slow by design, §1.2). */
  batchTimeoutMs?: number;
  /** Deadline of one single event call (default 4 x RR_TIMEOUT_MS, at least 2 s). */
  singleTimeoutMs?: number;
  retry?: SendVerdictOptions;
  /**
   * When Retail Rocket keeps failing (timeouts, network errors, 5xx), the sender stops calling it:
   * no claims until the cool-down passed, then one call as a probe (default: open after 5 failed
   * calls in 10 s that are at least half of the calls, or 10 in a row; 10 s cool-down).
   */
  breaker?: BreakerOptions;
  /**
   * VACUUM the spool after this many claimed events (default 5,000; 0: leave it to autovacuum).
   * Each claimed event leaves dead rows that every later claim walks over until a vacuum.
   */
  vacuumEvery?: number;
}

const BATCHABLE = new Set<string>(BATCH_EVENT_TYPES);

export const SENDER_BREAKER: BreakerOptions = {
  failureThreshold: 5,
  failureRatio: 0.5,
  windowMs: 10_000,
  consecutiveFailures: 10,
  coolDownMs: 10_000,
};

/**
 * What a call refused by the open breaker resolves to (compared by identity): nothing was sent,
 * so its events are released, not retried, and no attempt is counted.
 */
const CIRCUIT_OPEN: RrError = {
  kind: 'rate_limited',
  retryable: true,
  message: 'not sent: Retail Rocket kept failing, sending paused (circuit open)',
};

/** What a call's result says about Retail Rocket's health (not about the events it carried). */
function healthOf(result: RrResult<void>): Outcome {
  if (result.ok) return 'success';
  const e = result.error;
  if (e.kind === 'timeout' || e.kind === 'network') return 'failure';
  if (e.kind === 'http')
    return e.status === 429 ? 'none' : e.status !== undefined && e.status >= 500 ? 'failure' : 'success';
  // Our own limiter, our own validation, a closing client: Retail Rocket was not asked.
  return 'none';
}
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

interface Outcomes {
  sent: string[];
  retry: EventRetry[];
  dead: EventDeadLetter[];
  release: string[];
}

/**
 * The spool consumer. Claims due events in short leased transactions (several senders share one
 * spool), parks those naming ids the published catalog does not know, and sends the rest per
 * visitor in acceptance order: runs of batchable events through visitorEvents, the single-only
 * type (categoryViewByCategoryPath) alone. A visitor's first failure holds back its later
 * events (they are not sent until it succeeded); a Retry-After pauses all sending until it
 * passed. Outcomes are recorded in PostgreSQL; failures of the database are logged and retried.
 */
export function createEventSender(deps: EventSenderDeps, options: EventSenderOptions = {}): EventSender {
  const { state: db, rr, config } = deps;
  const logger = deps.logger.child({ component: 'event-sender' });
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const claimBatch = options.claimBatch ?? 500;
  const gatherMs = options.gatherMs ?? 50;
  const batchesInFlight = options.batchesInFlight ?? 4;
  const visitorConcurrency = options.visitorConcurrency ?? 500;
  const leaseMs = options.leaseMs ?? 120_000;
  const pollMs = options.pollMs ?? 2000;
  const recheckMs = options.recheckMs ?? 60_000;
  const batchTimeoutMs = options.batchTimeoutMs ?? 10_000;
  const singleTimeoutMs = options.singleTimeoutMs ?? Math.max(2000, 4 * config.rr.timeoutMs);
  const vacuumEvery = options.vacuumEvery ?? 5000;
  const reason = (t: string) => rr.redact(t).slice(0, 2000);

  let running: Promise<void> | undefined;
  let stopping = false;
  /** No call before this (performance.now() time): a Retry-After applies to the whole partner. */
  let pausedUntil = 0;
  let report: SendReport = { sent: 0, parked: 0, retried: 0, deadLetters: 0 };
  let recheckTimer: ReturnType<typeof setInterval> | undefined;
  let dbFailures = 0;
  let claimedSinceVacuum = 0;
  let vacuuming: Promise<void> | undefined;

  const { wait, kick } = createWakeable();

  /** In the background: the claims go on meanwhile (VACUUM does not block them). */
  function vacuumIfDue(claimed: number): void {
    claimedSinceVacuum += claimed;
    if (vacuumEvery <= 0 || claimedSinceVacuum < vacuumEvery || vacuuming) return;
    claimedSinceVacuum = 0;
    vacuuming = vacuumSpool(db)
      .catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'could not vacuum the event spool'),
      )
      .finally(() => (vacuuming = undefined));
  }

  const pauseLeft = () => Math.max(0, pausedUntil - performance.now());
  const breakerOptions = options.breaker ?? SENDER_BREAKER;
  const breaker = createBreaker(breakerOptions, () => performance.now());
  /**
   * Whether the log last said "paused": one line when an outage begins and one when it ends,
   * however many calls were in flight when it opened and however many probes failed meanwhile.
   */
  let announcedPause = false;
  /** Every call to Retail Rocket goes through the breaker. */
  async function guarded(call: () => Promise<RrResult<void>>): Promise<RrResult<void>> {
    const admission = breaker.admit();
    if (admission === 'reject') return { ok: false, error: CIRCUIT_OPEN };
    const result = await call();
    breaker.record(admission, healthOf(result));
    const state = breaker.snapshot().state;
    if (state === 'open' && !announcedPause) {
      announcedPause = true;
      logger.warn(
        {
          coolDownMs: breakerOptions.coolDownMs,
          ...(result.ok ? {} : { err: reason(result.error.message) }),
        },
        'Retail Rocket keeps failing: event sending paused (circuit open)',
      );
    } else if (state === 'closed' && announcedPause) {
      announcedPause = false;
      logger.info({}, 'Retail Rocket answers again: event sending resumed');
    }
    return result;
  }
  const coalescer = createCoalescer((events) =>
    guarded(() => rr.sendVisitorEvents(events, { priority: 'interactive', timeoutMs: batchTimeoutMs })),
  );

  /** One segment: consecutive batchable events go in one visitorEvents call, others alone. */
  async function sendSegment(seg: SpoolRow[]): Promise<{ failedAt: number; result: RrResult<void> }> {
    if (seg.length === 1 && !BATCHABLE.has(seg[0]!.type)) {
      const r = seg[0]!;
      const result = await guarded(() =>
        rr.events.send(r.type, r.body as never, { priority: 'interactive', timeoutMs: singleTimeoutMs }),
      );
      return { failedAt: result.ok ? 1 : 0, result };
    }
    const events = seg.map((r) => ({ type: r.type, event: r.body }) as BatchEvent);
    if (events.length <= 100) {
      const result = await coalescer.submit(events);
      return { failedAt: result.ok ? seg.length : 0, result };
    }
    // Where the batch failed (none sent when the breaker refused it).
    let failedAt = 0;
    const result = await guarded(async () => {
      const rep = await rr.sendBatch(events, {
        priority: 'interactive',
        timeoutMs: batchTimeoutMs,
        retry: { retries: 0 },
      });
      if (rep.ok) return { ok: true, value: undefined, status: 200 };
      const first = rep.failures[0]!;
      failedAt = Math.min(...first.indexes);
      return { ok: false, error: first.error };
    });
    return { failedAt: result.ok ? seg.length : failedAt, result };
  }

  function segmentsOf(rows: SpoolRow[]): SpoolRow[][] {
    const out: SpoolRow[][] = [];
    for (const r of rows) {
      const last = out.at(-1);
      if (BATCHABLE.has(r.type) && last && BATCHABLE.has(last[0]!.type)) last.push(r);
      else out.push([r]);
    }
    return out;
  }

  /** One visitor's claimed events, in order; the first failure holds back the rest. */
  async function sendVisitor(rows: SpoolRow[], out: Outcomes): Promise<void> {
    const holdBack = (rest: SpoolRow[], delayMs: number, why: string) => {
      for (const r of rest) out.retry.push({ id: r.id, delayMs, error: why, countAttempt: false });
    };
    const segments = segmentsOf(rows);
    for (let s = 0; s < segments.length; s++) {
      const seg = segments[s]!;
      const later = segments.slice(s + 1).flat();
      if (stopping) return void out.release.push(...seg.map((r) => r.id), ...later.map((r) => r.id));
      if (pauseLeft() > 0) return holdBack([...seg, ...later], pauseLeft(), 'paused: Retry-After');
      const { failedAt, result } = await sendSegment(seg);
      out.sent.push(...seg.slice(0, failedAt).map((r) => r.id));
      if (result.ok) continue;
      if (result.error === CIRCUIT_OPEN) {
        // Nothing was sent: the events go back as they were, claimable once the breaker lets.
        return void out.release.push(...seg.slice(failedAt).map((r) => r.id), ...later.map((r) => r.id));
      }
      if (result.error.retryAfterMs !== undefined && result.error.kind !== 'rate_limited') {
        pausedUntil = Math.max(pausedUntil, performance.now() + result.error.retryAfterMs);
      }
      const failed = seg.slice(failedAt);
      const verdict = sendVerdict(
        result,
        failed[0]!.attempts,
        Date.now() - failed[0]!.receivedAt.getTime(),
        options.retry,
      );
      if (verdict.action === 'dead' && failed.length > 1) {
        // visitorEvents is all or nothing: find the event Retail Rocket refuses, one at a time.
        const singles = failed.map((r) => [r]);
        segments.splice(s + 1, 0, ...singles);
        continue;
      }
      switch (verdict.action) {
        case 'dead':
          out.dead.push({ id: failed[0]!.id, ...verdict.failure, reason: reason(verdict.failure.reason) });
          continue;
        case 'release':
          return void out.release.push(...failed.map((r) => r.id), ...later.map((r) => r.id));
        case 'retry': {
          const error = reason(verdict.error);
          out.retry.push({
            id: failed[0]!.id,
            delayMs: verdict.delayMs,
            error,
            countAttempt: verdict.countAttempt,
          });
          return holdBack([...failed.slice(1), ...later], verdict.delayMs, `held back: ${error}`);
        }
      }
    }
  }

  async function record(out: Outcomes): Promise<void> {
    const steps: [string, () => Promise<unknown>][] = [
      ['sent', async () => (report.sent += await finishSent(db, owner, out.sent))],
      [
        'retries',
        async () => {
          await retryEvents(db, owner, out.retry);
          report.retried += out.retry.filter((r) => r.countAttempt).length;
        },
      ],
      ['dead letters', async () => (report.deadLetters += await deadLetterEvents(db, owner, out.dead))],
      ['releases', () => releaseEventLeases(db, owner, out.release)],
    ];
    for (const [what, step] of steps) {
      // A failure leaves those events leased: after the lease they are sent again (at least once).
      await step().catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, `could not record event ${what}`),
      );
    }
    for (const d of out.dead) {
      logger.warn(
        { event: d.id, status: d.status, errorKind: d.errorKind, reason: d.reason },
        'event refused for good: dead letter',
      );
    }
  }

  async function processClaim(rows: SpoolRow[]): Promise<void> {
    const out: Outcomes = { sent: [], retry: [], dead: [], release: [] };
    let toSend: SpoolRow[];
    try {
      const known = await lookupKnown(
        db,
        rows.map((r) => r.body),
      );
      const park = rows.filter((r) => idVerdict(r.body, known).action === 'park');
      report.parked += await parkEvents(
        db,
        owner,
        park.map((r) => r.id),
      );
      const parked = new Set(park.map((r) => r.id));
      toSend = rows.filter((r) => !parked.has(r.id));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not check event ids; retrying');
      await releaseEventLeases(
        db,
        owner,
        rows.map((r) => r.id),
      ).catch(() => undefined);
      return;
    }
    const byVisitor = new Map<string, SpoolRow[]>();
    for (const r of toSend) byVisitor.set(r.visitor, [...(byVisitor.get(r.visitor) ?? []), r]);
    const visitors = [...byVisitor.values()];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(visitorConcurrency, visitors.length) }, async () => {
        while (next < visitors.length) await sendVisitor(visitors[next++]!, out);
      }),
    );
    await record(out);
  }

  async function pump(mode: { drain: false } | { drain: true; maxWaitMs: number }): Promise<void> {
    const inflight = new Set<Promise<void>>();
    let lastClaimAt = -Infinity;
    let lastClaimFull = false;
    while (!stopping) {
      if (pauseLeft() > 0) {
        await wait(pauseLeft());
        continue;
      }
      // Retail Rocket keeps failing: no claims until a probe may go, and none while the probe is
      // out (its events are in flight; what else was claimed with it went back). A drain stops.
      const holdMs = breaker.probeInMs();
      if (holdMs > 0 || (breaker.snapshot().state === 'half_open' && inflight.size > 0)) {
        if (mode.drain && holdMs > mode.maxWaitMs) break;
        await wait(holdMs > 0 ? holdMs : pollMs);
        continue;
      }
      if (inflight.size >= batchesInFlight) {
        await wait(pollMs);
        continue;
      }
      const gather = lastClaimFull ? 0 : gatherMs - (performance.now() - lastClaimAt);
      if (gather > 0) await sleep(gather);
      if (stopping) break;
      let rows: SpoolRow[];
      try {
        lastClaimAt = performance.now();
        rows = await claimEvents(db, owner, claimBatch, leaseMs);
        lastClaimFull = rows.length >= claimBatch;
        dbFailures = 0;
        vacuumIfDue(rows.length);
      } catch (err) {
        dbFailures += 1;
        if (dbFailures === 1 || dbFailures % 30 === 0) {
          logger.warn(
            { err: (err as Error).message, failures: dbFailures },
            'cannot claim spooled events; retrying',
          );
        }
        await wait(clamp(pollMs * 2 ** Math.min(dbFailures, 4), 100, 30_000));
        continue;
      }
      if (rows.length > 0) {
        const p = processClaim(rows)
          .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'event batch failed'))
          .finally(() => {
            inflight.delete(p);
            kick();
          });
        inflight.add(p);
        continue;
      }
      if (inflight.size > 0) {
        // Their outcomes (a retry, a sent event) decide what is claimable next.
        await wait(pollMs);
        continue;
      }
      const next = await nextDueInMs(db).catch(() => null);
      if (mode.drain && (next === null || next > mode.maxWaitMs)) break;
      await wait(clamp(next ?? pollMs, 5, pollMs));
    }
    await Promise.allSettled([...inflight]);
  }

  let rechecking: Promise<RecheckReport> = Promise.resolve({ unparked: 0, dropped: 0, parked: 0 });
  function recheckParked(): Promise<RecheckReport> {
    // One at a time; a call during a re-check runs again after it (it may follow a newer sync).
    rechecking = rechecking.catch(() => undefined).then(recheckOnce);
    return rechecking;
  }
  async function recheckOnce(): Promise<RecheckReport> {
    const r: RecheckReport = { unparked: 0, dropped: 0, parked: 0 };
    let after = '0';
    for (;;) {
      const page = await listParked(db, after, 500, config.eventParkTtlSeconds);
      if (page.length === 0) break;
      const known = await lookupKnown(
        db,
        page.map((p) => p.body),
      );
      const unpark: string[] = [];
      const drop: string[] = [];
      for (const p of page) {
        const v = parkedVerdict(idVerdict(p.body, known).action === 'send', p.expired);
        if (v === 'unpark') unpark.push(p.id);
        else if (v === 'drop') drop.push(p.id);
        else r.parked += 1;
      }
      r.unparked += await unparkEvents(db, unpark);
      r.dropped += await dropParked(db, drop, 'park_ttl');
      after = page.at(-1)!.id;
    }
    if (r.unparked > 0) kick();
    if (r.unparked + r.dropped > 0) logger.info({ ...r }, 'parked events re-checked');
    return r;
  }

  return {
    owner,
    notify: kick,
    recheckParked,
    breaker: () => breaker.snapshot(),
    async drain(opts = {}) {
      if (running) throw new Error('this event sender is already running');
      stopping = false;
      report = { sent: 0, parked: 0, retried: 0, deadLetters: 0 };
      running = pump({ drain: true, maxWaitMs: opts.maxWaitMs ?? 5000 });
      try {
        await running;
        return { ...report };
      } finally {
        running = undefined;
      }
    },
    start() {
      if (running) throw new Error('this event sender is already running');
      stopping = false;
      running = pump({ drain: false });
      running.catch((err: unknown) => logger.error({ err: (err as Error).message }, 'event sender stopped'));
      recheckTimer = setInterval(() => {
        recheckParked().catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'could not re-check parked events'),
        );
      }, recheckMs);
      recheckTimer.unref?.();
    },
    async stop(opts = {}) {
      if (recheckTimer) clearInterval(recheckTimer);
      recheckTimer = undefined;
      const current = running;
      if (!current) return;
      stopping = true;
      kick();
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const outcome = await settleWithin(current, timeoutMs);
      if (outcome === 'late') logger.warn({ timeoutMs }, 'event calls still in flight at the stop deadline');
      await rechecking.catch(() => undefined);
      // A VACUUM is not worth holding up a stop: it is left to finish (or fail) on its own.
      if (vacuuming) await settleWithin(vacuuming, 1000);
      await releaseEventLeases(db, owner).catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'could not release event leases'),
      );
      running = undefined;
    },
  };
}

/**
 * The sender when Retail Rocket credentials are configured; without them (RR_PARTNER_ID or
 * RR_API_KEY unset) none: events are still accepted and spooled, and one warning says so.
 */
export function createEventSenderIfConfigured(
  deps: Omit<EventSenderDeps, 'rr'> & { rr: RetailRocketClient | null },
  options?: EventSenderOptions,
): EventSender | null {
  if (!deps.rr || !deps.config.rr.partnerId || !deps.config.rr.apiKey) {
    deps.logger.warn(
      {},
      'RR_PARTNER_ID and RR_API_KEY are not set: events are accepted and spooled, but not sent',
    );
    return null;
  }
  return createEventSender({ ...deps, rr: deps.rr }, options);
}
