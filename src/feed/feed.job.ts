import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type pg from 'pg';
import { openCatalogSnapshot, S } from '../catalog/catalog.reader.ts';
import type { Config } from '../config.ts';
import { acquireJobLock } from '../db/locks.ts';
import { AppError, EXIT } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { validateCategories, validateWarehouses } from '../validation/catalog.validator.ts';
import { validateProduct } from '../validation/product.validator.ts';
import { RunReport, type ReportCounts } from '../validation/validation.report.ts';
import { checkGzipFile, type FeedCheckResult } from './feed.check.js';
import { FEED_FILES, readCurrentFeed, type FeedManifest } from './feed.layout.ts';
import { publishGate, publishVersion, sweepTemp, TEMP_PREFIX, versionName } from './feed.publisher.ts';
import {
  closeAbandonedRuns,
  finishRun,
  insertFeedVersion,
  insertRun,
  type RunStatus,
} from './feed.repository.ts';
import { catalogDate, categoriesXml, FEED_FOOTER, feedHeader, offerXml } from './feed.xml.ts';
import { FeedWriter } from './feed.writer.ts';

export interface FeedJobOptions {
  /** Validate only: no feed file is written (`rr-sync validate`). */
  validateOnly?: boolean;
  /** Build and check the feed, apply the gate, publish nothing and record nothing. */
  dryRun?: boolean;
  force?: boolean;
  now?: () => Date;
  /** Aborting stops the run between batches; nothing is published. */
  signal?: AbortSignal;
  onProgress?: (p: { products: number; estimated: number }) => void;
  /** Test hooks (see FeedWriter). */
  hooks?: { corruptXml?: (chunk: Buffer) => void; beforePublish?: () => Promise<void> };
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
  bytes: number;
  gzBytes: number;
  seconds: number;
  version: string | null;
  reason?: string;
  /** Set when the publish gate refused (exit 3). */
  code?: 'feed.gate_refused';
  reportPath: string;
  runId: number | null;
}

export interface FeedJobDeps {
  catalog: pg.Pool;
  state: pg.Pool;
  config: Config;
  logger: Logger;
}

const WORKER_URL = new URL('./feed.check.worker.js', import.meta.url);

function startCheck(file: string, headerLength: number) {
  // A small young generation: the checker's garbage is short-lived, and RSS is a budget (design §7).
  const worker = new Worker(WORKER_URL, {
    workerData: { path: file, headerLength },
    resourceLimits: { maxYoungGenerationSizeMb: 12 },
  });
  const result = new Promise<Record<string, unknown>>((resolve, reject) => {
    worker.once('message', (m) => resolve(m as Record<string, unknown>));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`self-check worker exited with code ${code}`)));
  });
  return { worker, result };
}

/** What the self-check found wrong, comparing the files read back with what was written. */
function selfCheckProblems(
  written: { bytes: number; offers: number; idsSha256: string },
  categories: number,
  xml: FeedCheckResult,
  gz: Awaited<ReturnType<typeof checkGzipFile>>,
): string[] {
  const problems: string[] = [];
  if (!xml.ok) problems.push(`catalog.xml does not parse: ${xml.error}`);
  else {
    if (xml.offers !== written.offers) {
      problems.push(`catalog.xml has ${xml.offers} offers, ${written.offers} were written`);
    } else if (xml.idsSha256 !== written.idsSha256) {
      problems.push('the offer ids in catalog.xml differ from those written');
    }
    if (xml.categories !== categories) {
      problems.push(`catalog.xml has ${xml.categories} categories, ${categories} were written`);
    }
    if (xml.bytes !== written.bytes)
      problems.push(`catalog.xml has ${xml.bytes} bytes, ${written.bytes} were written`);
  }
  if (!gz.ok) problems.push(gz.error ?? 'catalog.xml.gz does not decompress');
  else if (gz.sha256 !== xml.sha256)
    problems.push('catalog.xml.gz does not decompress to the same bytes as catalog.xml');
  return problems;
}

/** Publish, or why not: unchanged content, the publish gate, a dry run, or validate-only. */
function decide(
  current: FeedManifest | null,
  next: FeedManifest | null,
  offers: number,
  config: Config,
  options: FeedJobOptions,
): { status: RunStatus; exitCode: number; reason?: string; version: string | null } {
  if (options.validateOnly || !next) return { status: 'validated', exitCode: EXIT.ok, version: null };
  if (current && current.contentSha256 === next.contentSha256) {
    return {
      status: 'unchanged',
      exitCode: EXIT.ok,
      version: current.version,
      reason: 'the catalog is the same as the published one: nothing published (ETag and Last-Modified stay)',
    };
  }
  const gate = publishGate(current?.offers ?? null, offers, config.feedMaxDrop, Boolean(options.force));
  if (!gate.ok) {
    return {
      status: 'refused',
      exitCode: EXIT.gateRefused,
      version: null,
      reason: `publish gate refused: ${gate.reason}; the published feed stays (use --force to override)`,
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
 * The nightly feed job (design §2, §6): read the catalog from one snapshot, validate every item,
 * write catalog.xml + .gz into a temporary directory while a worker thread parses the written
 * file back, compare, apply the publish gate, then publish atomically. A failure at any point
 * leaves the published feed untouched.
 */
export async function runFeedJob(deps: FeedJobDeps, options: FeedJobOptions = {}): Promise<FeedSummary> {
  const { config, logger } = deps;
  const started = performance.now();
  const now = options.now ?? (() => new Date());
  const feedsDir = config.feedsDir;
  await mkdir(feedsDir, { recursive: true });
  const lock = await acquireJobLock(deps.state, 'feed');
  // Sweep before this run creates its own temporary files: they share the prefix.
  let swept: string[];
  try {
    swept = await sweepTemp(feedsDir);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const record = !options.dryRun;
  let runId: number | null = null;
  const tmpDir = path.join(feedsDir, `${TEMP_PREFIX}${Date.now()}-${process.pid}`);
  const report = new RunReport(`${tmpDir}.issues.ndjson`);
  let writer: FeedWriter | null = null;
  const workers: Worker[] = [];
  try {
    if (swept.length) logger.warn({ swept }, 'removed temporary files of an interrupted earlier run');
    if (record) {
      // Under the feed lock no other feed or validate run can be alive: any still "running" died.
      const abandoned = await closeAbandonedRuns(deps.state, ['feed', 'validate']);
      if (abandoned) logger.warn({ abandoned }, 'marked runs that died without finishing as failed');
      runId = await insertRun(deps.state, options.validateOnly ? 'validate' : 'feed');
    }
    const log = logger.child({ runId });

    const snapshot = await openCatalogSnapshot(deps.catalog, config.catalogSchema, log);
    snapshot.onOrphanStock = (row) =>
      report.add({
        code: 'stock.unknown_product',
        entity: 'stock',
        id: row[S.productId],
        warehouseId: row[S.warehouseId],
        field: 'product_id',
        value: row[S.productId],
      });
    let offers = 0;
    let stockBlocks = 0;
    let productRows = 0;
    let rejected = 0;
    let categoriesCount = 0;
    let xmlCheck: ReturnType<typeof startCheck> | null = null;
    let date = '';
    let headerLength = 0;
    try {
      const categories = validateCategories(snapshot.categories, report);
      categoriesCount = categories.length;
      const ctx = {
        categories: new Set(categories.map((c) => c.id)),
        warehouses: validateWarehouses(snapshot.warehouses, report),
        groupIdCollisions: snapshot.groupIdCollisions,
        report,
      };
      if (!options.validateOnly) {
        await mkdir(tmpDir);
        date = catalogDate(now());
        const header = feedHeader(date);
        headerLength = Buffer.byteLength(header);
        // The checker follows the file as it grows: opened once the writer created it.
        let checkPort: Worker | null = null;
        writer = new FeedWriter(tmpDir, {
          onXmlWritten: (bytes) => checkPort?.postMessage({ type: 'progress', bytes }),
          corruptXml: options.hooks?.corruptXml,
        });
        xmlCheck = startCheck(writer.xmlPath, headerLength);
        workers.push(xmlCheck.worker);
        checkPort = xmlCheck.worker;
        await writer.write(header);
        await writer.write(categoriesXml(categories));
      }
      const estimated = snapshot.estimatedProducts;
      for await (const batch of snapshot.products()) {
        if (options.signal?.aborted)
          throw new AppError('interrupted', 'The feed run was interrupted; nothing was published.');
        for (const group of batch) {
          productRows += group.rows.length;
          const offer = validateProduct(group, ctx);
          if (offer === null) {
            rejected += group.rows.length;
          } else {
            offers++;
            stockBlocks += offer.stocks.length;
            if (writer) {
              writer.addOfferId(offer.id);
              const wait = writer.write(offerXml(offer));
              if (wait) await wait;
            }
          }
        }
        await report.drain();
        options.onProgress?.({ products: productRows, estimated });
      }
    } finally {
      await snapshot.close();
    }
    options.onProgress?.({ products: productRows, estimated: productRows });
    const msRead = Math.round(performance.now() - started);

    const base = {
      offers,
      categories: categoriesCount,
      stockBlocks,
      productRowsRead: productRows,
      rejectedProducts: rejected,
      ...report.totals(),
      runId,
    };
    let manifest: FeedManifest | null = null;
    let bytes = 0;
    let gzBytes = 0;
    if (writer && xmlCheck) {
      await writer.write(FEED_FOOTER);
      const written = await writer.close();
      writer = null;
      const msWritten = Math.round(performance.now() - started);
      xmlCheck.worker.postMessage({ type: 'done', bytes: written.bytes });
      // The main thread is free now: it verifies the .gz (inflating on the thread pool) while the
      // worker finishes parsing the .xml.
      const [xml, gz] = await Promise.all([
        xmlCheck.result as Promise<unknown> as Promise<FeedCheckResult>,
        checkGzipFile(path.join(tmpDir, FEED_FILES.gz)),
      ]);
      logger.info(
        {
          msRead,
          msWritten,
          msChecked: Math.round(performance.now() - started),
          offers,
          bytes: written.bytes,
        },
        'feed written and self-checked',
      );
      const problems = selfCheckProblems(written, categoriesCount, xml, gz);
      if (problems.length > 0) {
        throw new AppError(
          'feed.self_check_failed',
          `Self-check failed, nothing published: ${problems.join('; ')}`,
          {
            details: { problems },
          },
        );
      }
      bytes = xml.bytes;
      gzBytes = gz.gzBytes;
      manifest = {
        version: '',
        sha256: xml.sha256,
        gzSha256: gz.gzSha256,
        contentSha256: xml.contentSha256,
        bytes,
        gzBytes,
        offers,
        categories: categoriesCount,
        publishedAt: '',
        catalogDate: date,
      };
    }

    const current = await readCurrentFeed(feedsDir);
    const { status, exitCode, reason, ...decided } = decide(
      current?.manifest ?? null,
      manifest,
      offers,
      config,
      options,
    );
    let version = decided.version;

    const seconds = (performance.now() - started) / 1000;
    const header = {
      generatedAt: now().toISOString(),
      status,
      runId,
      catalogSchema: config.catalogSchema,
      totals: { ...base, bytes, gzBytes, seconds },
    };
    const lastReport = path.join(feedsDir, 'last-run.report.json');
    if (status === 'published' && manifest) {
      await options.hooks?.beforePublish?.();
      const at = now();
      manifest.publishedAt = at.toISOString();
      manifest.version = versionName(at, manifest.sha256);
      await report.writeJson(path.join(tmpDir, FEED_FILES.report), { ...header, version: manifest.version });
      await copyFile(path.join(tmpDir, FEED_FILES.report), `${lastReport}.tmp`);
      await publishVersion(feedsDir, tmpDir, manifest, config.feedKeepVersions);
      version = manifest.version;
      if (runId !== null) await insertFeedVersion(deps.state, runId, manifest);
    } else if (record) {
      await report.writeJson(`${lastReport}.tmp`, header);
    }
    if (record) await rename(`${lastReport}.tmp`, lastReport);
    const summary: FeedSummary = {
      status,
      exitCode,
      ...base,
      bytes,
      gzBytes,
      seconds: Math.round(seconds * 100) / 100,
      version,
      ...(reason ? { reason } : {}),
      ...(status === 'refused' ? { code: 'feed.gate_refused' as const } : {}),
      reportPath: status === 'published' ? path.join(feedsDir, FEED_FILES.report) : lastReport,
    };
    if (runId !== null) {
      await finishRun(deps.state, runId, { status, exitCode, summary, report: report.summary() });
    }
    return summary;
  } catch (err) {
    writer?.abort();
    if (runId !== null) {
      const e = err as AppError;
      await finishRun(deps.state, runId, {
        status: 'failed',
        exitCode: e.exitCode ?? 1,
        summary: null,
        report: report.summary(),
        error: e.message,
      }).catch(() => undefined);
    }
    throw err;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await rm(tmpDir, { recursive: true, force: true });
    await report.dispose();
    await lock.release();
  }
}
