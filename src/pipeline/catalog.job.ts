import { createHash } from 'node:crypto';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { acquireJobLock } from '../db/locks.ts';
import type { Queryable } from '../db/pool.ts';
import { recordRunFailure, repairHistory } from '../feed/feed.history.ts';
import { FEED_FILES, readCurrentFeed, type CatalogIdentity, type FeedManifest } from '../feed/feed.layout.ts';
import {
  freeVersionName,
  publishGate,
  publishVersion,
  sweepTemp,
  TEMP_PREFIX,
} from '../feed/feed.publisher.ts';
import { insertFeedVersion } from '../feed/feed.repository.ts';
import { asFeedWriteFailure } from '../feed/feed.writer.ts';
import { FeedSink, type BuiltFeed, type FeedSinkHooks } from '../feed/feed.sink.ts';
import {
  closeAbandonedRuns,
  finishRun,
  insertRun,
  type RunKind,
  type RunStatus,
} from '../runs/runs.history.ts';
import { coerceError, EXIT } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { RunTrigger } from '../sync/sync.contracts.ts';
import { RunReport, type ReportCounts } from '../validation/validation.report.ts';
import { runCatalogPass, type OfferSink } from './catalog.pass.ts';

export interface CatalogJobDeps {
  catalog: pg.Pool;
  state: pg.Pool;
  config: Config;
  logger: Logger;
}

/**
 * A second channel fed by the same pass (the change detector): it sees every product, may refuse
 * the run before anything is published (the push gate), and applies its result after the feed
 * decision, in the same run.
 */
export interface PassExtension<R> {
  sink: OfferSink;
  /** Called after the pass, before publishing; a refusal stops the run with exit 3. */
  gate(force: boolean): { ok: true } | { ok: false; reason: string };
  /** Called once the feed is published or unchanged (never after a refusal or a failure). */
  apply(ctx: { runId: number | null; dryRun: boolean; feedVersion: string | null }): Promise<R>;
  dispose(): Promise<void>;
}

/** What every catalog run takes (feed, validate, sync, resync), whoever starts it. */
export interface CatalogRunOptions {
  trigger?: RunTrigger;
  /** Who asked (admin runs), recorded with the run. */
  actor?: string;
  /** Called once the run is recorded (before the pass): an admin request answers with its id. */
  onStart?: (runId: number) => void;
  /** Build and check everything, publish and record nothing. */
  dryRun?: boolean;
  /** Override the gates. */
  force?: boolean;
  now?: () => Date;
  /** Aborting stops the run between batches; nothing is published. */
  signal?: AbortSignal;
  onProgress?: (p: { products: number; estimated: number }) => void;
  /** Test hooks (see FeedWriter). */
  hooks?: FeedSinkHooks & { beforePublish?: () => Promise<void> };
}

export interface CatalogJobSpec<R> extends CatalogRunOptions {
  kind: RunKind;
  /** Write the feed candidate (false for `validate`). */
  feed: boolean;
  extension?: PassExtension<R>;
}

export interface FeedSummary {
  status: RunStatus;
  exitCode: number;
  offers: number;
  categories: number;
  stockBlocks: number;
  productRowsRead: number;
  rejectedProducts: number;
  errors: number;
  warnings: number;
  byCode: ReportCounts['byCode'];
  /** The first few ids per reason code (what was left out, for the human summary). */
  firstIds: ReturnType<RunReport['firstIds']>;
  bytes: number;
  gzBytes: number;
  seconds: number;
  version: string | null;
  reason?: string;
  /** Set when the publish gate refused (exit 3): a drop, or a feed of another catalog. */
  code?: 'feed.gate_refused' | 'feed.other_catalog';
  reportPath: string;
  runId: number | null;
}

export type CatalogJobResult<R> = FeedSummary & { extension: R | null };

interface Decision {
  status: RunStatus;
  exitCode: number;
  reason?: string;
  version: string | null;
  code?: 'feed.gate_refused' | 'feed.other_catalog';
}

/**
 * Which catalog this is: the database cluster (its system identifier, when the role may read it),
 * the database and the schema. Stable however the URL spells the host.
 */
export async function catalogIdentity(db: Queryable, schema: string): Promise<CatalogIdentity> {
  const { rows } = await db.query<{ db: string }>('select current_database() as db');
  let cluster = '';
  try {
    const sys = await db.query<{ id: string }>(
      'select system_identifier::text as id from pg_control_system()',
    );
    cluster = sys.rows[0]?.id ?? '';
  } catch {
    // Not allowed for this role: the database and schema names still tell stores apart.
  }
  const name = `database ${rows[0].db}, schema ${schema}`;
  return {
    id: createHash('sha256').update(`${cluster}\n${rows[0].db}\n${schema}`).digest('hex').slice(0, 16),
    name,
  };
}

/** Publish, or why not: unchanged content, the publish gate, a dry run, or no feed at all. */
export function decide(
  current: FeedManifest | null,
  next: FeedManifest | null,
  config: Config,
  options: { dryRun?: boolean; force?: boolean },
): Decision {
  if (!next) return { status: 'validated', exitCode: EXIT.ok, version: null };
  if (current && current.contentSha256 === next.contentSha256) {
    return {
      status: 'unchanged',
      exitCode: EXIT.ok,
      version: current.version,
      reason: 'the catalog is the same as the published one: nothing published (ETag and Last-Modified stay)',
    };
  }
  // A feed of another store (DATABASE_URL or CATALOG_SCHEMA changed, e.g. the demo's feed still
  // in FEEDS_DIR) is not a shrink of the published one: say so, and never replace it silently.
  if (current?.catalog && next.catalog && current.catalog.id !== next.catalog.id && !options.force) {
    const why = `the published feed (version ${current.version}, ${current.offers} offers) was built from another catalog (${current.catalog.name}); this run reads ${next.catalog.name}`;
    return {
      status: 'refused',
      exitCode: EXIT.gateRefused,
      version: null,
      code: 'feed.other_catalog',
      reason: options.dryRun
        ? why
        : `${why}: nothing published. To replace that feed with this catalog's, run again with --force; to keep it, give this catalog another FEEDS_DIR`,
    };
  }
  const gate = publishGate(current?.offers ?? null, next.offers, config.feedMaxDrop, Boolean(options.force));
  if (!gate.ok) {
    return {
      status: 'refused',
      exitCode: EXIT.gateRefused,
      version: null,
      code: 'feed.gate_refused',
      reason: options.dryRun
        ? gate.reason
        : `publish gate refused: ${gate.reason}; the published feed stays (use --force to override)`,
    };
  }
  if (options.dryRun) {
    return {
      status: 'dry_run',
      exitCode: EXIT.ok,
      version: null,
      reason: 'dry run: the feed was built and checked but not published',
    };
  }
  return { status: 'published', exitCode: EXIT.ok, version: null };
}

/**
 * The catalog job (design §2, §6): under the job lock, read the catalog once, validate every item,
 * feed the sinks (feed candidate, change detector), self-check the feed, apply the gates, publish
 * atomically, then let the extension apply its changes. A failure at any point leaves the
 * published feed and the state untouched.
 */
export async function runCatalogJob<R>(
  deps: CatalogJobDeps,
  spec: CatalogJobSpec<R>,
): Promise<CatalogJobResult<R>> {
  const { config, logger } = deps;
  const started = performance.now();
  const now = spec.now ?? (() => new Date());
  const feedsDir = config.feedsDir;
  await mkdir(feedsDir, { recursive: true });
  // feed, validate, sync and resync all write FEEDS_DIR and the catalog state: one lock.
  const lock = await acquireJobLock(deps.state, 'feed');
  let swept: string[];
  try {
    // Sweep before this run creates its own temporary files: they share the prefix.
    swept = await sweepTemp(feedsDir);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const record = !spec.dryRun;
  let runId: number | null = null;
  const tmpDir = path.join(feedsDir, `${TEMP_PREFIX}${Date.now()}-${process.pid}`);
  const report = new RunReport(`${tmpDir}.issues.ndjson`);
  const feed = spec.feed ? new FeedSink(tmpDir, { now, logger, hooks: spec.hooks }) : null;
  try {
    if (swept.length) logger.warn({ swept }, 'removed temporary files of an interrupted earlier run');
    if (record) {
      // Under the lock no other catalog run can be alive: any still "running" died.
      const abandoned = await closeAbandonedRuns(deps.state, ['feed', 'validate', 'sync', 'resync']);
      if (abandoned) logger.warn({ abandoned }, 'marked runs that died without finishing as failed');
      await repairHistory(deps.state, feedsDir, logger);
      runId = await insertRun(deps.state, spec.kind, spec.trigger, spec.actor);
      spec.onStart?.(runId);
    }
    const log = logger.child({ runId });
    const sinks: OfferSink[] = [];
    if (feed) sinks.push(feed);
    if (spec.extension) sinks.push(spec.extension.sink);
    const pass = await runCatalogPass(
      { catalog: deps.catalog, schema: config.catalogSchema, logger: log, report },
      sinks,
      { signal: spec.signal, onProgress: spec.onProgress, lockLost: lock.signal },
    );
    const built: BuiltFeed | null = feed ? await feed.finish(started) : null;
    if (built) built.manifest.catalog = await catalogIdentity(deps.catalog, config.catalogSchema);
    const current = await readCurrentFeed(feedsDir);
    let decision = decide(current?.manifest ?? null, built?.manifest ?? null, config, spec);
    if (
      spec.extension &&
      (decision.status === 'published' || decision.status === 'unchanged' || decision.status === 'dry_run')
    ) {
      const gate = spec.extension.gate(Boolean(spec.force));
      if (!gate.ok) {
        decision = {
          status: 'refused',
          exitCode: EXIT.gateRefused,
          version: null,
          code: 'feed.gate_refused',
          reason: `push gate refused: ${gate.reason}; nothing was published or enqueued (use --force to override)`,
        };
      }
    }
    const base = {
      offers: pass.offers,
      categories: pass.categories,
      stockBlocks: pass.stockBlocks,
      productRowsRead: pass.productRowsRead,
      rejectedProducts: pass.rejectedProducts,
      ...report.totals(),
      runId,
    };
    const bytes = built?.manifest.bytes ?? 0;
    const gzBytes = built?.manifest.gzBytes ?? 0;
    const header = {
      generatedAt: now().toISOString(),
      status: decision.status,
      runId,
      catalogSchema: config.catalogSchema,
      totals: { ...base, bytes, gzBytes, seconds: Math.round(performance.now() - started) / 1000 },
    };
    // A dry run records nothing, so its report goes beside last-run's instead of replacing it.
    const lastReport = path.join(feedsDir, record ? 'last-run.report.json' : 'dry-run.report.json');
    let version = decision.version;
    if (decision.status === 'published' && built) {
      await spec.hooks?.beforePublish?.();
      const at = now();
      built.manifest.publishedAt = at.toISOString();
      built.manifest.version = await freeVersionName(feedsDir, at, built.manifest.sha256);
      await report.writeJson(path.join(tmpDir, FEED_FILES.report), {
        ...header,
        version: built.manifest.version,
      });
      await copyFile(path.join(tmpDir, FEED_FILES.report), `${lastReport}.tmp`);
      await publishVersion(feedsDir, tmpDir, built.manifest, config.feedKeepVersions, {
        runId,
        signal: lock.signal,
      });
      version = built.manifest.version;
      if (runId !== null) await insertFeedVersion(deps.state, runId, built.manifest);
    } else {
      await report.writeJson(`${lastReport}.tmp`, header);
    }
    await rename(`${lastReport}.tmp`, lastReport);

    let extension: R | null = null;
    if (spec.extension && decision.status !== 'refused') {
      // The lock died with its connection: another instance may be applying the same changes.
      lock.signal.throwIfAborted();
      extension = await spec.extension.apply({
        runId,
        dryRun: Boolean(spec.dryRun),
        feedVersion: decision.status === 'dry_run' ? null : version,
      });
    }
    const seconds = (performance.now() - started) / 1000;
    const summary: CatalogJobResult<R> = {
      status: decision.status,
      exitCode: decision.exitCode,
      ...base,
      firstIds: report.firstIds(),
      bytes,
      gzBytes,
      seconds: Math.round(seconds * 100) / 100,
      version,
      ...(decision.reason ? { reason: decision.reason } : {}),
      ...(decision.status === 'refused' ? { code: decision.code ?? ('feed.gate_refused' as const) } : {}),
      reportPath: decision.status === 'published' ? path.join(feedsDir, FEED_FILES.report) : lastReport,
      extension,
    };
    if (runId !== null) {
      const { extension: ext, ...rest } = summary;
      await finishRun(deps.state, runId, {
        status: decision.status,
        exitCode: decision.exitCode,
        summary: ext ? { ...rest, ...ext } : rest,
        report: report.summary(),
      });
    }
    return summary;
  } catch (caught) {
    // A full disk or unwritable FEEDS_DIR anywhere in the run is feed.write_failed, for every caller.
    const err = asFeedWriteFailure(caught, feedsDir);
    if (runId !== null) await recordRunFailure(deps.state, feedsDir, runId, err, report.summary(), logger);
    throw coerceError(err);
  } finally {
    await feed?.dispose();
    await spec.extension?.dispose();
    await rm(tmpDir, { recursive: true, force: true });
    await report.dispose();
    await lock.release();
  }
}
