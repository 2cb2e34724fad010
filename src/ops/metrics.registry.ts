import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { AnswerTiming } from '../recommendations/index.ts';
import type { CallInfo } from '../rr/index.ts';
import { ALERT_RULES } from './alerts.rules.ts';
import { finishedRunsAfter } from './ops.repository.ts';
import type { OpsSnapshot, PushResult } from './ops.snapshot.ts';

/**
 * The Prometheus metrics (issue 9). One registry per app, never prom-client's global one: tests
 * run several apps in one process. Gauges are set from the (cached) snapshot right before a
 * scrape is rendered; counters and histograms count as things happen in this process, except
 * run durations, which are read from the run history (runs of every instance and command).
 */

export interface OpsMetrics {
  readonly registry: Registry;
  /** The RR client's `onCall` hook: `createRetailRocketClient(config.rr, { onCall })`. */
  onCall(info: CallInfo): void;
  /** One push outcome of this process's pusher. */
  onPush(result: PushResult): void;
  /** One recommendation answer's timing (the recommendation route's `onAnswer`). */
  onRecommendation(timing: AnswerTiming): void;
  /** Set the gauges (and provider counters) from a snapshot. */
  update(snap: OpsSnapshot): void;
  /** Count runs finished since the last call in the duration histogram. */
  ingestRuns(db: pg.Pool): Promise<void>;
  render(): Promise<string>;
  readonly contentType: string;
}

/** Seconds: a sync of a small store takes well under a second, a 1M-product feed minutes. */
const RUN_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Seconds: around RR_TIMEOUT_MS (500 ms by default). */
const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5, 5, 10];
/** Seconds: the service's own part of an answer, well under the upstream's (target p99 < 5 ms). */
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5];
const RUN_BATCH = 5000;

/** `event.view` → tracking, `recs.popular` → recommendations, `product.upsert` → products. */
export function apiOf(op: string): string {
  const head = op.split('.')[0];
  if (head === 'event') return 'tracking';
  if (head === 'recs') return 'recommendations';
  if (head === 'product') return 'products';
  return head ?? 'other';
}

export function createOpsMetrics(): OpsMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const reg = [registry];

  const feedOffers = new Gauge({
    name: 'rr_sync_feed_offers',
    help: 'Offers in the published feed.',
    registers: reg,
  });
  const feedAge = new Gauge({
    name: 'rr_sync_feed_age_seconds',
    help: 'Seconds since the last successful feed run (published or unchanged), from the run history; absent without a state database.',
    registers: reg,
  });
  const lastPullAge = new Gauge({
    name: 'rr_sync_feed_last_pull_age_seconds',
    help: 'Seconds since a client last got the whole feed (200 or 304) from this process; absent before the first.',
    registers: reg,
  });
  const rejected = new Gauge({
    name: 'rr_sync_rejected_items',
    help: 'Issues per reason code in the run report of the published feed.',
    labelNames: ['code'],
    registers: reg,
  });
  const runDuration = new Histogram({
    name: 'rr_sync_run_duration_seconds',
    help: 'Duration of finished runs (rr_sync.runs, every instance), by kind and status.',
    labelNames: ['kind', 'status'],
    buckets: RUN_BUCKETS,
    registers: reg,
  });
  const outboxPending = new Gauge({
    name: 'rr_sync_outbox_pending',
    help: 'Changes waiting in the push outbox.',
    registers: reg,
  });
  const outboxOldest = new Gauge({
    name: 'rr_sync_outbox_oldest_seconds',
    help: 'Age of the oldest pending change in the outbox (0 when empty).',
    registers: reg,
  });
  const pushes = new Counter({
    name: 'rr_sync_pushes_total',
    help: "Product API push outcomes of this process's pusher: pushed, retry, dead_letter.",
    labelNames: ['result'],
    registers: reg,
  });
  const deadLetters = new Gauge({
    name: 'rr_sync_dead_letters',
    help: 'Open dead letters (pushes Retail Rocket refused for good, not requeued).',
    registers: reg,
  });
  const events = new Counter({
    name: 'rr_sync_events_total',
    help: 'Storefront events by outcome (accepted, sent, parked, dropped); absent until the event spool is running.',
    labelNames: ['result'],
    registers: reg,
  });
  const recommendations = new Counter({
    name: 'rr_sync_recommendations_total',
    help: 'Recommendation answers by source (retailrocket, cache, fallback); absent until the recommendation service is running.',
    labelNames: ['source'],
    registers: reg,
  });
  const upstream = new Histogram({
    name: 'rr_sync_upstream_request_duration_seconds',
    help: 'Retail Rocket calls by API (tracking, recommendations, products) and HTTP status or failure kind.',
    labelNames: ['api', 'status'],
    buckets: UPSTREAM_BUCKETS,
    registers: reg,
  });
  const overhead = new Histogram({
    name: 'rr_sync_recommendation_overhead_seconds',
    help: 'Time of a recommendation answer not spent waiting for Retail Rocket (id check, enrichment, fallback), by source.',
    labelNames: ['source'],
    buckets: OVERHEAD_BUCKETS,
    registers: reg,
  });
  const alert = new Gauge({
    name: 'rr_sync_alert',
    help: 'Freshness alert rules: 1 while broken.',
    labelNames: ['rule'],
    registers: reg,
  });
  for (const rule of ALERT_RULES) alert.set({ rule }, 0);

  /** A gauge with nothing to say is left out of the scrape instead of showing a made-up 0. */
  const present = (metric: Metric, value: number | null | undefined) => {
    const name = (metric as unknown as { name: string }).name;
    const there = registry.getSingleMetric(name) !== undefined;
    if (value === null || value === undefined) {
      if (there) registry.removeSingleMetric(name);
      return;
    }
    if (!there) registry.registerMetric(metric);
    (metric as Gauge).set(value);
  };

  /** Providers give totals since their start; a counter only goes up, so add the difference. */
  const seen = { events: new Map<string, number>(), recs: new Map<string, number>() };
  const addTotals = (
    counter: Counter<string>,
    label: string,
    last: Map<string, number>,
    totals: Readonly<Record<string, number>>,
  ) => {
    for (const [key, total] of Object.entries(totals)) {
      const before = last.get(key) ?? 0;
      // A total below the last one: the provider restarted; count from its new start.
      const delta = total >= before ? total - before : total;
      if (delta > 0 || !last.has(key)) counter.inc({ [label]: key }, delta);
      last.set(key, total);
    }
  };

  let cursor: { at: string; id: number } | null = null;
  let ingesting: Promise<void> | null = null;

  return {
    registry,
    contentType: registry.contentType,
    onCall(info) {
      const status = info.status !== undefined ? String(info.status) : (info.kind ?? 'error');
      upstream.observe({ api: apiOf(info.op), status }, info.ms / 1000);
    },
    onPush(result) {
      pushes.inc({ result });
    },
    onRecommendation(t) {
      overhead.observe({ source: t.source }, Math.max(0, t.totalMs - t.upstreamMs) / 1000);
    },
    update(snap) {
      present(feedOffers, snap.feed?.offers);
      present(feedAge, snap.feedAgeSeconds);
      present(lastPullAge, snap.lastPullAgeSeconds);
      rejected.reset();
      for (const r of snap.rejected ?? []) rejected.set({ code: r.code }, r.count);
      present(outboxPending, snap.outbox?.pending);
      present(outboxOldest, snap.outbox?.oldestPendingSeconds);
      present(deadLetters, snap.deadLetters);
      if (snap.events) addTotals(events, 'result', seen.events, snap.events.totals);
      if (snap.recommendations)
        addTotals(recommendations, 'source', seen.recs, snap.recommendations.bySource);
      const broken = new Set(snap.alerts.map((a) => a.rule));
      for (const rule of ALERT_RULES) alert.set({ rule }, broken.has(rule) ? 1 : 0);
    },
    ingestRuns(db) {
      // One reader at a time: two scrapes at once must not count the same runs twice.
      ingesting ??= (async () => {
        for (;;) {
          const runs = await finishedRunsAfter(db, cursor, RUN_BATCH);
          for (const r of runs) runDuration.observe({ kind: r.kind, status: r.status }, r.seconds);
          const last = runs.at(-1);
          if (last) cursor = { at: last.finishedAt, id: last.id };
          if (runs.length < RUN_BATCH) return;
        }
      })().finally(() => (ingesting = null));
      return ingesting;
    },
    render: () => registry.metrics(),
  };
}
