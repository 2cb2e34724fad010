import type pg from 'pg';
import type { Config } from '../config.ts';
import { lastSuccessfulFeedAt } from '../runs/runs.repository.ts';
import type { FeedPull, PullRegistry } from '../server/feed.pulls.ts';
import type { FeedSource } from '../server/feed.source.ts';
import { coerceError } from '../shared/errors.ts';
import { countOpenDeadLetters } from '../sync/dead-letters.repository.ts';
import { outboxStats, type OutboxStats } from '../sync/outbox.repository.ts';
import { alertVerdict, type BrokenRule } from './alerts.rules.ts';
import type { BreakerState, EventStats, OpsProviders, RecStats } from './ops.providers.ts';
import type { RejectedCode } from './ops.report.ts';

export type PushResult = 'pushed' | 'retry' | 'dead_letter';

/** Everything the page, /metrics, /healthz and the alerts read, taken at one moment. */
export interface OpsSnapshot {
  at: string;
  uptimeSeconds: number;
  feed: {
    version: string;
    offers: number;
    categories: number;
    bytes: number;
    gzBytes: number;
    publishedAt: string;
    ageSeconds: number;
    dir: string;
  } | null;
  /** The live version's rejected items per reason code (from its report); null: no report. */
  rejected: RejectedCode[] | null;
  /** Last pull per client, newest first. */
  pulls: FeedPull[];
  /** The newest complete pull (200 or 304) by any client. */
  lastPull: FeedPull | null;
  lastPullAgeSeconds: number | null;
  /** absent: this process has no state database (`serve`); error: it did not answer. */
  database: 'absent' | 'ok' | 'error';
  databaseError?: string;
  lastSuccessfulFeedAt: string | null;
  /** Seconds since the last successful feed run (needs the state database: null without). */
  feedAgeSeconds: number | null;
  outbox: OutboxStats | null;
  deadLetters: number | null;
  /** Push outcomes since start, of this process's pusher; null when it has none. */
  pushes: Record<PushResult, number> | null;
  events: EventStats | null;
  recommendations: RecStats | null;
  breakers: readonly BreakerState[] | null;
  alerts: BrokenRule[];
}

/** A value computed at most once per `ttlMs`; concurrent callers share one computation. */
export function cached<T>(compute: () => Promise<T>, ttlMs: number, now: () => number = Date.now) {
  let value: { at: number; v: Promise<T> } | null = null;
  return {
    get(): Promise<T> {
      const t = now();
      if (!value || t - value.at >= ttlMs) {
        const v = compute();
        value = { at: t, v };
        // A failure is not kept: the next caller tries again.
        v.catch(() => {
          if (value?.v === v) value = null;
        });
      }
      return value.v;
    },
    clear() {
      value = null;
    },
  };
}

/** The figures that need the state database: the part of a snapshot that is cached. */
export interface DbFigures {
  database: OpsSnapshot['database'];
  databaseError?: string;
  lastSuccessfulFeedAt: Date | null;
  outbox: OutboxStats | null;
  deadLetters: number | null;
}

export async function readDbFigures(db: pg.Pool | null): Promise<DbFigures> {
  if (!db) return { database: 'absent', lastSuccessfulFeedAt: null, outbox: null, deadLetters: null };
  try {
    const [last, outbox, dead] = await Promise.all([
      lastSuccessfulFeedAt(db),
      outboxStats(db),
      countOpenDeadLetters(db),
    ]);
    return { database: 'ok', lastSuccessfulFeedAt: last, outbox, deadLetters: dead };
  } catch (err) {
    return {
      database: 'error',
      databaseError: coerceError(err).message,
      lastSuccessfulFeedAt: null,
      outbox: null,
      deadLetters: null,
    };
  }
}

export interface SnapshotDeps {
  config: Config;
  source: FeedSource;
  pulls: PullRegistry;
  /** Cached by the caller: scrapes and page views within a few seconds share one set of queries. */
  dbFigures: () => Promise<DbFigures>;
  providers: () => OpsProviders;
  pushes: () => Record<PushResult, number> | null;
  rejectedOf: (dir: string) => Promise<RejectedCode[] | null>;
  now?: () => number;
  startedAt?: number;
}

const secondsBetween = (from: string | Date, to: number) =>
  Math.max(0, Math.floor((to - new Date(from).getTime()) / 1000));

const COMPLETE = new Set([200, 304]);

/**
 * Reads every figure: the live version and the pull registry afresh (a readlink and memory), the
 * state database's figures and the providers' through the caller's cache.
 */
export async function takeSnapshot(deps: SnapshotDeps): Promise<OpsSnapshot> {
  const now = (deps.now ?? Date.now)();
  const current = await deps.source.current();
  const m = current?.manifest;
  const feed =
    current && m
      ? {
          version: m.version,
          offers: m.offers,
          categories: m.categories,
          bytes: m.bytes,
          gzBytes: m.gzBytes,
          publishedAt: m.publishedAt,
          ageSeconds: secondsBetween(m.publishedAt, now),
          dir: current.dir,
        }
      : null;
  const pulls = deps.pulls.list();
  const lastPull =
    pulls.filter((p) => COMPLETE.has(p.status)).sort((a, b) => (a.at < b.at ? 1 : -1))[0] ?? null;
  const db = await deps.dbFigures();
  const providers = deps.providers();
  const snap: OpsSnapshot = {
    at: new Date(now).toISOString(),
    uptimeSeconds: Math.floor((now - (deps.startedAt ?? now)) / 1000),
    feed,
    rejected: current ? await deps.rejectedOf(current.dir).catch(() => null) : null,
    pulls,
    lastPull,
    lastPullAgeSeconds: lastPull ? secondsBetween(lastPull.at, now) : null,
    database: db.database,
    ...(db.databaseError ? { databaseError: db.databaseError } : {}),
    lastSuccessfulFeedAt: db.lastSuccessfulFeedAt?.toISOString() ?? null,
    // Without the run history, a feed found unchanged night after night looks old: not judged.
    feedAgeSeconds: db.lastSuccessfulFeedAt ? secondsBetween(db.lastSuccessfulFeedAt, now) : null,
    outbox: db.outbox,
    deadLetters: db.deadLetters,
    pushes: deps.pushes(),
    events: providers.events ? await providers.events().catch(() => null) : null,
    recommendations: providers.recommendations?.() ?? null,
    breakers: providers.breakers?.() ?? null,
    alerts: [],
  };
  snap.alerts = alertVerdict(
    {
      feedPublished: feed !== null,
      lastPullAgeSeconds: snap.lastPullAgeSeconds,
      uptimeSeconds: snap.uptimeSeconds,
      feedAgeSeconds: snap.feedAgeSeconds,
      oldestPendingPushSeconds: snap.outbox?.pending ? snap.outbox.oldestPendingSeconds : null,
      oldestPendingEventSeconds: snap.events?.pending ? snap.events.oldestPendingSeconds : null,
      deadLetters: snap.deadLetters,
      openBreakers: (snap.breakers ?? [])
        .filter((b) => b.state !== 'closed' && b.openSince)
        .map((b) => ({ name: b.name, seconds: secondsBetween(b.openSince!, now) })),
    },
    deps.config.alerts,
  );
  return snap;
}
