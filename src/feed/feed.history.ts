import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError, coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Queryable } from '../db/pool.ts';
import { readCurrentFeed } from './feed.layout.ts';
import { finishRun, insertFeedVersion, markRunPublished } from './feed.repository.ts';

/**
 * Keeps the history (rr_sync.runs, rr_sync.feed_versions) true to what FEEDS_DIR serves when the
 * state database fails in the middle of a run: the files are the truth about what is live, the
 * database only records it.
 */

/** A failure that could not be written to the state database, kept for the next run to record. */
const PENDING_PREFIX = '.unrecorded-run-';

interface PendingFailure {
  runId: number;
  exitCode: number;
  code: string | null;
  error: string;
  report: unknown;
}

/**
 * Record that run `runId` failed with `err`, unless the feed it published is live (a failure after
 * the swap, e.g. while recording the version): then it is recorded as published. Never throws: when
 * the state database cannot be written, the outcome is kept in FEEDS_DIR and the next run records
 * it (repairHistory).
 */
export async function recordRunFailure(
  db: Queryable,
  feedsDir: string,
  runId: number,
  err: unknown,
  report: unknown,
  logger: Logger,
): Promise<void> {
  const e = coerceError(err);
  const failure: PendingFailure = {
    runId,
    exitCode: e instanceof AppError ? e.exitCode : 1,
    code: e instanceof AppError ? e.code : null,
    error: e.message,
    report,
  };
  try {
    await writeFailure(db, failure);
    await recordLiveVersion(db, feedsDir, logger);
  } catch (recordErr) {
    logger.warn(
      { runId, err: coerceError(recordErr).message },
      'could not record the failed run in the state database; the next run records it',
    );
    await writeFile(pendingPath(feedsDir, runId), JSON.stringify(failure)).catch(() => undefined);
  }
}

/**
 * Run under the feed job lock, before a new run starts: record the failures that earlier runs
 * could not write, then make sure the live version is in rr_sync.feed_versions and its run is
 * recorded as published (a run can lose the database after its swap, or be killed between the
 * swap and the record).
 */
export async function repairHistory(db: Queryable, feedsDir: string, logger: Logger): Promise<void> {
  const names = (await readdir(feedsDir).catch(() => [] as string[])).filter((n) =>
    n.startsWith(PENDING_PREFIX),
  );
  for (const name of names) {
    const file = path.join(feedsDir, name);
    const failure = await readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as PendingFailure,
      () => null,
    );
    if (failure && Number.isSafeInteger(failure.runId)) {
      await writeFailure(db, failure);
      logger.warn(
        { runId: failure.runId, code: failure.code },
        'recorded a run that failed without a database',
      );
    }
    await rm(file, { force: true });
  }
  await recordLiveVersion(db, feedsDir, logger);
}

async function writeFailure(db: Queryable, f: PendingFailure): Promise<void> {
  await finishRun(db, f.runId, {
    status: 'failed',
    exitCode: f.exitCode,
    summary: f.code ? { code: f.code } : null,
    report: f.report,
    error: f.error,
  });
}

/** The live version in rr_sync.feed_versions and its run `published`, whatever the run wrote last. */
async function recordLiveVersion(db: Queryable, feedsDir: string, logger: Logger): Promise<void> {
  const current = await readCurrentFeed(feedsDir).catch(() => null);
  if (!current) return;
  const m = current.manifest;
  const runId = typeof m.runId === 'number' ? m.runId : null;
  const { rows } = await db.query<{ run_id: string | null }>(
    'select run_id from rr_sync.feed_versions where version = $1',
    [m.version],
  );
  if (rows.length === 0) {
    // The run row may be gone (history pruned, another database): keep the version all the same.
    const { rowCount } = await db.query('select 1 from rr_sync.runs where id = $1', [runId]);
    await insertFeedVersion(db, rowCount ? runId : null, m);
    logger.warn({ version: m.version, runId }, 'recorded the live feed version its run could not record');
  }
  if (runId !== null && (await markRunPublished(db, runId))) {
    logger.warn({ version: m.version, runId }, 'the run whose feed is live is now recorded as published');
  }
}

function pendingPath(feedsDir: string, runId: number): string {
  return path.join(feedsDir, `${PENDING_PREFIX}${runId}.json`);
}
