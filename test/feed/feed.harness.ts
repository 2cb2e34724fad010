import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import type { FeedJobDeps } from '../../src/feed/feed.job.ts';
import { FEED_FILES, readCurrentFeed, type FeedManifest } from '../../src/feed/feed.layout.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A local-time clock reading: the yml_catalog date is written in the process time zone. */
export const FIXED_NOW = new Date(2026, 10, 29, 2, 0, 0);

export interface FeedHarness {
  db: TestDatabase;
  feedsDir: string;
  env: Record<string, string>;
  config: Config;
  deps: FeedJobDeps;
  /** Restart with an empty FEEDS_DIR (and new config) for the next test. */
  resetFeeds(extraEnv?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** A migrated database of its own and an empty FEEDS_DIR, for one test file. */
export async function createFeedHarness(extraEnv: Record<string, string> = {}): Promise<FeedHarness> {
  const db = await createTestDatabase();
  const h = { db } as FeedHarness;
  const dirs: string[] = [];
  h.resetFeeds = async (more = {}) => {
    h.feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-feed-test-'));
    dirs.push(h.feedsDir);
    h.env = {
      DATABASE_URL: db.url,
      FEEDS_DIR: h.feedsDir,
      FEED_MAX_DROP: '0.2',
      LOG_LEVEL: 'silent',
      ...extraEnv,
      ...more,
    };
    h.config = loadConfig(h.env);
    h.deps = { catalog: db.pool, state: db.pool, config: h.config, logger: silentLogger };
  };
  await h.resetFeeds();
  h.close = async () => {
    await db.drop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  return h;
}

export interface PublishedFiles {
  manifest: FeedManifest;
  xml: Buffer;
  gz: Buffer;
}

/** The live version as a reader sees it (through `current`). */
export async function readPublished(feedsDir: string): Promise<PublishedFiles | null> {
  const current = await readCurrentFeed(feedsDir);
  if (!current) return null;
  return {
    manifest: current.manifest,
    xml: await readFile(path.join(current.dir, FEED_FILES.xml)),
    gz: await readFile(path.join(current.dir, FEED_FILES.gz)),
  };
}

export async function tempEntries(feedsDir: string): Promise<string[]> {
  return (await readdir(feedsDir)).filter((n) => n.startsWith('.tmp-'));
}

export async function versionNames(feedsDir: string): Promise<string[]> {
  return (await readdir(path.join(feedsDir, 'versions')).catch(() => [] as string[])).sort();
}
