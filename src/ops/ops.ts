import { createReadStream } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { readKeptVersions, FEED_FILES } from '../feed/feed.layout.ts';
import type { PullRegistry } from '../server/feed.pulls.ts';
import type { FeedSource } from '../server/feed.source.ts';
import type { Route } from '../server/server.route.ts';
import type { Logger } from '../shared/logger.ts';
import { createAdminActions, type AdminActions, type OpsDatabases } from './admin.actions.ts';
import { createAdminAuth, type AdminAuth } from './admin.auth.ts';
import { createSessionStore } from './admin.sessions.ts';
import { createAdminRoutes } from './admin.routes.ts';
import { createAlertNotifier, type AlertNotifier } from './alerts.notifier.ts';
import type { BrokenRule } from './alerts.rules.ts';
import { createOpsMetrics, type OpsMetrics } from './metrics.registry.ts';
import { createMetricsRoutes } from './metrics.routes.ts';
import { createSampler } from './ops.history.ts';
import type { OpsProviders } from './ops.providers.ts';
import { readRejected, type RejectedCode } from './ops.report.ts';
import { cached, readDbFigures, takeSnapshot, type OpsSnapshot, type PushResult } from './ops.snapshot.ts';
import { createStatusRoutes } from './status.routes.ts';

/**
 * The operator surface (issue 9): status page, /metrics, freshness alerts, /admin actions. Created
 * with the HTTP server (so `serve`, without a database, has the page, metrics and alerts on the
 * feed); `connect` adds the state database once it is open, `provide` the storefront parts.
 */

export interface OpsDeps {
  config: Config;
  logger: Logger;
  source: FeedSource;
  pulls: PullRegistry;
  providers?: OpsProviders;
  /** Figures needing a query are reused this long (default 5 s): a scrape never waits on PostgreSQL twice. */
  snapshotTtlMs?: number;
  /** How often the alert rules are evaluated in the background (default 30 s). */
  alertEveryMs?: number;
  /** How often a history sample is written (default 60 s). */
  sampleEveryMs?: number;
  /** Options of the webhook notifier (tests shorten the 15 min interval and the backoff). */
  notifier?: { minIntervalMs?: number; backoff?: { baseMs?: number; maxMs?: number } };
  instance?: string;
  now?: () => number;
}

export interface Ops {
  readonly routes: Route[];
  readonly metrics: OpsMetrics;
  readonly auth: AdminAuth;
  readonly actions: AdminActions;
  /** The state (and catalog) database is open: runs, outbox, actions and history from now on. */
  connect(dbs: OpsDatabases): void;
  /** Plug in the storefront parts' figures (issue 8). */
  provide(providers: OpsProviders): void;
  /** The pusher's `onOutcome` hook; also turns the push counters on. */
  onPush(result: PushResult): void;
  snapshot(): Promise<OpsSnapshot>;
  /** Broken rules as of the latest snapshot (what /healthz answers with). */
  alerts(): Promise<BrokenRule[]>;
  /** Start the background alert evaluation and history sampling. */
  start(): void;
  close(): Promise<void>;
}

export function createOps(deps: OpsDeps): Ops {
  const { config } = deps;
  const logger = deps.logger.child({ component: 'ops' });
  const now = deps.now ?? Date.now;
  const startedAt = now();
  let dbs: OpsDatabases | null = null;
  let providers: OpsProviders = deps.providers ?? {};
  let pushes: Record<PushResult, number> | null = null;
  const metrics = createOpsMetrics();
  const rejectedByDir = new Map<string, Promise<RejectedCode[] | null>>();
  const rejectedOf = (dir: string) => {
    // A version directory never changes once published: read its report once.
    let r = rejectedByDir.get(dir);
    if (!r) {
      r = readRejected(dir);
      rejectedByDir.set(dir, r);
      r.catch(() => rejectedByDir.delete(dir));
      if (rejectedByDir.size > 16) rejectedByDir.delete(rejectedByDir.keys().next().value as string);
    }
    return r;
  };
  const state = (): pg.Pool | null => dbs?.state ?? null;
  const dbFigures = cached(() => readDbFigures(state()), deps.snapshotTtlMs ?? 5000, now);
  const snapshots = {
    get: () =>
      takeSnapshot({
        config,
        source: deps.source,
        pulls: deps.pulls,
        dbFigures: dbFigures.get,
        providers: () => providers,
        pushes: () => (pushes ? { ...pushes } : null),
        rejectedOf,
        now,
        startedAt,
      }),
    clear: () => dbFigures.clear(),
  };
  const notifier: AlertNotifier = createAlertNotifier({
    url: config.alerts.webhookUrl,
    logger,
    now,
    ...deps.notifier,
  });
  /** Every snapshot taken feeds the notifier and the metrics: the page, a scrape and the timer agree. */
  const snapshot = async () => {
    const snap = await snapshots.get();
    notifier.update(snap.alerts);
    metrics.update(snap);
    return snap;
  };
  const sessions = createSessionStore(state);
  const auth = createAdminAuth(config.adminToken, sessions);
  const actions = createAdminActions({ config, logger: deps.logger, databases: () => dbs });
  const sampler = createSampler({
    state,
    snapshot,
    logger,
    instance: deps.instance ?? `pid:${process.pid}`,
    everyMs: deps.sampleEveryMs,
  });
  let alertTimer: NodeJS.Timeout | undefined;

  const reportFile = async () => {
    const current = await deps.source.current();
    return current ? path.join(current.dir, FEED_FILES.report) : null;
  };

  const ctx = {
    config,
    logger,
    auth,
    sessions,
    actions,
    metrics,
    snapshot,
    state,
    versions: () => readKeptVersions(config.feedsDir),
    source: deps.source,
    reportFile,
    openReport: (file: string) => createReadStream(file),
    ingestRuns: async () => {
      const db = state();
      if (db) await runsOnce.get();
    },
  };
  const runsOnce = cached(
    async () => {
      const db = state();
      if (db) await metrics.ingestRuns(db);
    },
    deps.snapshotTtlMs ?? 5000,
    now,
  );

  return {
    routes: [...createMetricsRoutes(ctx), ...createAdminRoutes(ctx), ...createStatusRoutes(ctx)],
    metrics,
    auth,
    actions,
    connect(d) {
      dbs = d;
      snapshots.clear();
      if (alertTimer) sampler.start();
    },
    provide(p) {
      providers = { ...providers, ...p };
      snapshots.clear();
    },
    onPush(result) {
      pushes ??= { pushed: 0, retry: 0, dead_letter: 0 };
      pushes[result] += 1;
      metrics.onPush(result);
    },
    snapshot,
    async alerts() {
      return (await snapshot()).alerts;
    },
    start() {
      if (alertTimer) return;
      const evaluate = () =>
        void snapshot().catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'could not evaluate the alerts'),
        );
      alertTimer = setInterval(evaluate, deps.alertEveryMs ?? 30_000);
      alertTimer.unref();
      evaluate();
      if (dbs) sampler.start();
    },
    async close() {
      clearInterval(alertTimer);
      notifier.close();
      await sampler.stop();
      await actions.close();
    },
  };
}

export type OpsContext = {
  config: Config;
  logger: Logger;
  auth: AdminAuth;
  sessions: ReturnType<typeof createSessionStore>;
  actions: AdminActions;
  metrics: OpsMetrics;
  snapshot: () => Promise<OpsSnapshot>;
  state: () => pg.Pool | null;
  versions: () => ReturnType<typeof readKeptVersions>;
  source: FeedSource;
  reportFile: () => Promise<string | null>;
  openReport: (file: string) => NodeJS.ReadableStream;
  ingestRuns: () => Promise<void>;
};
