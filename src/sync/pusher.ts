import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ProductGroupInput, ProductInput, RrResult } from '../rr/index.ts';
import type { PushReport, PusherDeps } from './sync.contracts.ts';
import { listenToOutbox } from './outbox.listener.ts';
import {
  claim,
  complete,
  nextClaimableInMs,
  outboxStats,
  releaseLeases,
  retryLater,
  toDeadLetter,
  type OutboxRow,
  type RetryLater,
} from './outbox.repository.ts';
import { createConcurrencyLimit, createPacer } from './push.pacer.ts';
import { createReachability, pushVerdict } from './push.verdict.ts';
import { settleWithin } from '../shared/settle.ts';
import { createWakeable } from '../shared/wakeable.ts';

export interface PusherOptions {
  /** Rows per claim (default: a quarter second of RR_PUSH_RATE, 10..500). */
  claimBatch?: number;
  /**
   * Calls in flight at most (default: RR_PUSH_RATE x the call deadline, 4..256). The window in use
   * adapts below it: it shrinks on timeouts and grows back while answers come.
   */
  concurrency?: number;
  /** How long a claim is ours (default 10 s + 2 x RR_TIMEOUT_MS + the limiter wait). */
  leaseMs?: number;
  /** drain(): stop as unreachable once every call for this long got no answer (default 5 s). */
  unreachableAfterMs?: number;
  /** start(): poll this often when no NOTIFY arrives (default 1 s). */
  pollMs?: number;
  /** Retry backoff (default PUSH_BACKOFF; tests inject `random`). */
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
}

export interface DrainOptions {
  /** Wait at most this long for rows due later (backoff, others' leases); default 5 s. */
  maxWaitMs?: number;
  /** Aborting stops claiming; calls in flight finish; leases are released. */
  signal?: AbortSignal;
}

export interface Pusher {
  /** Identifies this pusher in outbox leases. */
  readonly owner: string;
  /** Push until nothing is due (or due within maxWaitMs), or Retail Rocket is unreachable. */
  drain(opts?: DrainOptions): Promise<PushReport>;
  /** Push continuously (`rr-sync run`): wakes on NOTIFY rr_sync_outbox, polls every ~1 s. */
  start(): void;
  /** Stop claiming, let calls in flight finish within timeoutMs (default 10 s), release leases. */
  stop(opts?: { timeoutMs?: number }): Promise<void>;
}

/** A bulk call may wait this long for a rate-limit slot; longer means interactive traffic needs it. */
const QUEUE_MS = 2000;
const FLUSH_ROWS = 200;
const FLUSH_MS = 50;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * The outbox consumer. Claims due rows in small leased batches, sends each through the Retail
 * Rocket client at bulk priority paced at RR_PUSH_RATE with bounded concurrency, and records
 * every outcome (pushed, retry later, dead letter) in PostgreSQL. Several pushers, in one or many
 * processes, share one outbox. Failures are values here: a lost database connection is logged
 * and retried in start(); only drain() reports it, by rejecting.
 */
export function createPusher(deps: PusherDeps, options: PusherOptions = {}): Pusher {
  const { state: db, rr, config } = deps;
  const logger = deps.logger.child({ component: 'pusher' });
  const owner = deps.owner ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const rate = config.push.rate;
  const timeoutMs = config.rr.timeoutMs;
  const claimBatch = options.claimBatch ?? clamp(Math.ceil(rate / 4), 10, 500);
  const concurrency = options.concurrency ?? clamp(Math.ceil((rate * (timeoutMs + 100)) / 1000), 4, 256);
  const leaseMs = options.leaseMs ?? 10_000 + 2 * timeoutMs + QUEUE_MS;
  // Send a claimed row only while its lease will outlive the call: else another pusher may take it.
  const sendWithinMs = Math.max(leaseMs / 2, leaseMs - (timeoutMs + QUEUE_MS + 1000));
  const pollMs = options.pollMs ?? 1000;
  const reason = (text: string) => rr.redact(text).slice(0, 2000);

  let running: Promise<PushReport> | undefined;
  let stopping = false;
  const { wait, kick } = createWakeable();

  function send(row: OutboxRow): Promise<RrResult<void>> {
    const opts = { priority: 'bulk' as const, queueTimeoutMs: QUEUE_MS };
    if (row.kind === 'group') return rr.products.upsertGroup(row.body as ProductGroupInput, opts);
    if (row.kind === 'stock')
      return rr.products.upsert(row.body as ProductInput, { ...opts, stockId: row.stockId! });
    return rr.products.upsert(row.body as ProductInput, opts);
  }

  async function pump(mode: { drain: true; maxWaitMs: number } | { drain: false }): Promise<PushReport> {
    const started = performance.now();
    const pacer = createPacer(rate, { burstSeconds: 0.25 });
    const reach = createReachability(options.unreachableAfterMs ?? 5000);
    const window = createConcurrencyLimit({
      min: Math.min(4, concurrency),
      max: concurrency,
      coolDownMs: timeoutMs,
    });
    const buffer: { row: OutboxRow; claimedAt: number }[] = [];
    const inflight = new Set<Promise<void>>();
    let toComplete: OutboxRow[] = [];
    let toRetry: RetryLater[] = [];
    let flushing: Promise<void> = Promise.resolve();
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let claiming = false;
    let claimInFlight: Promise<void> | undefined;
    let exhausted = false;
    // Claims that found nothing although rows looked due (locked by an open enqueue transaction):
    // back off instead of asking again every few ms.
    let emptyClaims = 0;
    const idleFloor = () => (emptyClaims === 0 ? 5 : Math.min(pollMs, 10 * 2 ** emptyClaims));
    let dbError: unknown;
    let dbFailures = 0;
    let unreachable = false;
    let pushed = 0;
    let deadLetters = 0;

    const flush = (): Promise<void> => {
      if (flushTimer) clearTimeout(flushTimer);
      flushTimer = undefined;
      const rows = toComplete;
      const retries = toRetry;
      toComplete = [];
      toRetry = [];
      if (rows.length === 0 && retries.length === 0) return flushing;
      flushing = flushing.then(async () => {
        try {
          await complete(db, rows);
          pushed += rows.length;
        } catch (err) {
          // The rows stay leased; after the lease they are pushed again (an upsert is idempotent).
          logger.warn({ err: (err as Error).message, rows: rows.length }, 'could not record pushes');
        }
        try {
          await retryLater(db, retries);
        } catch (err) {
          logger.warn({ err: (err as Error).message, rows: retries.length }, 'could not schedule retries');
        }
      });
      return flushing;
    };
    const flushSoon = () => {
      if (toComplete.length + toRetry.length >= FLUSH_ROWS) void flush();
      else if (!flushTimer) {
        flushTimer = setTimeout(() => void flush(), FLUSH_MS);
      }
    };

    async function handle(row: OutboxRow, result: RrResult<void>) {
      reach.record(result);
      if (result.ok) window.success();
      else if (result.error.kind === 'timeout') window.timeout();
      const verdict = pushVerdict(result, row.attempts, config.push.maxAttempts, options.backoff);
      if (verdict.action !== 'release')
        deps.onOutcome?.(
          verdict.action === 'complete' ? 'pushed' : verdict.action === 'dead' ? 'dead_letter' : 'retry',
        );
      switch (verdict.action) {
        case 'complete':
          toComplete.push(row);
          break;
        case 'retry':
          toRetry.push({
            row,
            delayMs: verdict.delayMs,
            error: reason(verdict.error),
            countAttempt: verdict.countAttempt,
          });
          break;
        case 'release':
          // The client was closed under us: nothing more can be sent.
          stopping = true;
          await releaseLeases(db, owner, [row.key]);
          return;
        case 'dead': {
          const failure = { ...verdict.failure, reason: reason(verdict.failure.reason) };
          await toDeadLetter(db, row, failure);
          deadLetters += 1;
          logger.warn(
            {
              key: row.key,
              status: failure.status,
              errorKind: failure.errorKind,
              attempts: failure.attempts,
              reason: failure.reason,
            },
            'push failed for good: dead letter',
          );
          return;
        }
      }
      flushSoon();
      if (mode.drain && reach.unreachable()) {
        unreachable = true;
        stopping = true;
      }
    }

    function start(row: OutboxRow) {
      const p = send(row)
        .then((result) => handle(row, result))
        .catch((err: unknown) => {
          logger.warn({ key: row.key, err: (err as Error).message }, 'could not record a push outcome');
        })
        .finally(() => {
          inflight.delete(p);
          kick();
        });
      inflight.add(p);
    }

    function refill() {
      if (claiming || exhausted || stopping || buffer.length >= claimBatch) return;
      claiming = true;
      claimInFlight = claim(db, owner, claimBatch, leaseMs)
        .then((rows) => {
          const t = performance.now();
          for (const row of rows) buffer.push({ row, claimedAt: t });
          // A short batch may only mean that another pusher held some rows: ask again until empty.
          if (rows.length === 0) exhausted = true;
          emptyClaims = rows.length === 0 ? emptyClaims + 1 : 0;
          dbFailures = 0;
        })
        .catch((err: unknown) => {
          dbFailures += 1;
          if (mode.drain) {
            dbError = err;
            stopping = true;
          } else if (dbFailures === 1 || dbFailures % 30 === 0) {
            logger.warn(
              { err: (err as Error).message, failures: dbFailures },
              'cannot claim outbox rows; retrying',
            );
          }
          exhausted = true;
        })
        .finally(() => {
          claiming = false;
          kick();
        });
    }

    const stale: string[] = [];
    while (!stopping) {
      refill();
      if (buffer.length > 0 && inflight.size < window.get()) {
        const waitMs = pacer.take();
        if (waitMs > 0) {
          await wait(waitMs);
          continue;
        }
        const next = buffer.shift()!;
        if (performance.now() - next.claimedAt > sendWithinMs) stale.push(next.row.key);
        else start(next.row);
        continue;
      }
      if (buffer.length > 0 || claiming || inflight.size > 0) {
        // Blocked on the window or a claim: tokens keep accruing (up to the burst), so a latency
        // spike is caught up afterwards instead of lowering the average rate.
        await wait(pollMs);
        continue;
      }
      // Nothing buffered, in flight or claimable right now.
      pacer.idle();
      await flush();
      if (stale.length > 0) await releaseLeases(db, owner, stale.splice(0)).catch(() => undefined);
      if (!mode.drain) {
        const next = dbFailures > 0 ? null : await nextClaimableInMs(db).catch(() => null);
        const backoff = pollMs * 2 ** Math.min(dbFailures, 5);
        await wait(clamp(Math.min(next ?? pollMs, backoff), idleFloor(), 30_000));
        exhausted = false;
        continue;
      }
      if (reach.unreachable()) {
        unreachable = true;
        break;
      }
      const next = await nextClaimableInMs(db).catch((err: unknown) => {
        dbError = err;
        return null;
      });
      if (next === null || next > mode.maxWaitMs) break;
      // At most a poll interval: rows leased by another pusher may be done long before the lease ends.
      await wait(clamp(next, idleFloor(), pollMs));
      exhausted = false;
    }

    // Wind down: unsent rows go back at once (also those of a claim still under way); calls in
    // flight finish (each has its deadline).
    await claimInFlight;
    const unsent = [...buffer.splice(0).map((b) => b.row.key), ...stale];
    if (unsent.length > 0) await releaseLeases(db, owner, unsent).catch(() => undefined);
    await Promise.allSettled([...inflight]);
    await flush();
    if (dbError !== undefined) throw dbError;
    const pending = mode.drain ? (await outboxStats(db)).pending : 0;
    if (mode.drain && pending > 0 && reach.failing()) unreachable = true;
    return {
      pushed,
      deadLetters,
      pending,
      unreachable,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  }

  let listener: ReturnType<typeof listenToOutbox> | undefined;

  return {
    owner,
    async drain(opts = {}) {
      if (running) throw new Error('this pusher is already running');
      stopping = false;
      const onAbort = () => {
        stopping = true;
        kick();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) onAbort();
      running = pump({ drain: true, maxWaitMs: opts.maxWaitMs ?? 5000 });
      try {
        const report = await running;
        logger.info({ ...report }, 'push drain finished');
        return report;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
        running = undefined;
      }
    },
    start() {
      if (running) throw new Error('this pusher is already running');
      stopping = false;
      listener = listenToOutbox(db, kick, logger);
      running = pump({ drain: false });
      // A failure here is already logged inside; the promise is awaited by stop().
      running.catch((err: unknown) => logger.error({ err: (err as Error).message }, 'pusher stopped'));
    },
    async stop(opts = {}) {
      const current = running;
      if (!current) return;
      stopping = true;
      kick();
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const outcome = await settleWithin(current, timeoutMs);
      if (outcome === 'late') logger.warn({ timeoutMs }, 'calls still in flight at the stop deadline');
      await listener?.close();
      listener = undefined;
      // Whatever we still hold (calls past the deadline) becomes claimable for the next pusher.
      await releaseLeases(db, owner).catch((err: unknown) =>
        logger.warn({ err: (err as Error).message }, 'could not release outbox leases'),
      );
      running = undefined;
    },
  };
}
