import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { vi } from 'vitest';
import { main, type MainOptions } from '../../src/cli/index.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import type { FeedJobDeps } from '../../src/feed/feed.job.ts';
import { FEED_FILES, readCurrentFeed, type FeedManifest } from '../../src/feed/feed.layout.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { product, type ProductRow } from './store.fixture.ts';

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

/** `n` valid products with ids from `first`, each priced `price`. */
export function products(n: number, price = '10.50', first = 1): ProductRow[] {
  return Array.from({ length: n }, (_, i) => product(String(first + i), { price }));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the CLI in this process (`main(argv, env)`), capturing what it prints. */
export async function runCli(
  argv: string[],
  env: Record<string, string>,
  options?: MainOptions,
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const capture =
    (into: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(capture(out) as typeof process.stdout.write);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(capture(err) as typeof process.stderr.write);
  try {
    const code = await main(argv, env, options);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
