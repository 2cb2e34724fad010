import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { runFeedJob, type FeedSummary } from '../../src/feed/feed.job.ts';
import { FEED_FILES } from '../../src/feed/feed.layout.ts';
import { startApp } from '../../src/app/app.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import {
  createFeedHarness,
  readPublished,
  sha256,
  tempEntries,
  versionNames,
  type FeedHarness,
  type PublishedFiles,
} from './feed.harness.ts';

// The one big catalog of the feed tests: a run must last long enough to be killed mid-way.
const PRODUCTS = 30_000;

let h: FeedHarness;
let before: PublishedFiles;
let child: ChildProcess | undefined;

beforeAll(async () => {
  h = await createFeedHarness();
  await seedDemo(h.db.pool, { schema: 'store', products: PRODUCTS }, silentLogger);
  const first = await runFeedJob(h.deps);
  expect(first.status).toBe('published');
  before = (await readPublished(h.feedsDir))!;
  // Change the catalog, so that the next run would publish a new version.
  await h.db.pool.query(`update store.products set price = price + 1 where id::text like '%7'`);
}, 120_000);
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await h?.close();
});

/**
 * Resolves with the name of the first `.tmp-*` directory in FEEDS_DIR once the run has written part
 * of its catalog.xml there (a run mid-way).
 */
async function runIsWriting(feedsDir: string, proc: ChildProcess): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the run ended (exit ${proc.exitCode}) before it was killed`);
    const entries = await readdir(feedsDir, { withFileTypes: true });
    const dir = entries.find((e) => e.isDirectory() && e.name.startsWith('.tmp-'));
    const size = dir
      ? await stat(path.join(feedsDir, dir.name, FEED_FILES.xml)).then(
          (s) => s.size,
          () => 0,
        )
      : 0;
    if (dir && size > 0) return dir.name;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('no temporary directory appeared');
}

describe('a feed run killed mid-way', () => {
  it('leaves the previous feed intact and servable, and the next run sweeps and publishes', async () => {
    child = spawn(process.execPath, ['src/cli/rr-sync.js', 'feed'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: h.db.url,
        FEEDS_DIR: h.feedsDir,
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const tmp = await runIsWriting(h.feedsDir, child);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(child.signalCode).toBe('SIGKILL');

    // The published version is untouched ...
    const after = (await readPublished(h.feedsDir))!;
    expect(after.manifest).toEqual(before.manifest);
    expect(sha256(after.xml)).toBe(before.manifest.sha256);
    expect(sha256(after.gz)).toBe(before.manifest.gzSha256);
    expect(await versionNames(h.feedsDir)).toEqual([before.manifest.version]);
    expect(await tempEntries(h.feedsDir)).toContain(tmp);
    const partial = (await stat(path.join(h.feedsDir, tmp, FEED_FILES.xml))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(before.manifest.bytes);

    // ... and served with its old ETag.
    const server = await startApp({ config: h.config, logger: silentLogger }, { port: 0 });
    try {
      const res = await fetch(`${server.url}/feeds/catalog.xml`, {
        headers: { 'accept-encoding': 'identity' },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe(`"${before.manifest.sha256}"`);
      expect(Buffer.from(await res.arrayBuffer()).equals(before.xml)).toBe(true);
    } finally {
      await server.close();
    }

    // The killed run's lock dies with its connection; PostgreSQL may notice a moment later.
    let next: FeedSummary | undefined;
    for (let attempt = 0; !next; attempt++) {
      next = await runFeedJob(h.deps).catch((e: unknown) => {
        if (e instanceof AppError && e.code === 'job.already_running' && attempt < 50) return undefined;
        throw e;
      });
      if (!next) await new Promise((r) => setTimeout(r, 100));
    }
    expect(next.status).toBe('published');
    expect(next.version).not.toBe(before.manifest.version);
    expect(await tempEntries(h.feedsDir)).toEqual([]);
    const published = (await readPublished(h.feedsDir))!;
    expect(published.manifest.version).toBe(next.version);
    expect(sha256(published.xml)).toBe(published.manifest.sha256);
    // The killed run is not left "running" in the history.
    const { rows } = await h.deps.state.query<{ status: string; error: string | null }>(
      "select status, error from rr_sync.runs where kind = 'feed' order by id",
    );
    expect(rows.map((r) => r.status)).not.toContain('running');
    expect(
      rows.filter((r) => r.status === 'failed' && /ended before the run finished/.test(r.error ?? '')),
    ).toHaveLength(1);
  }, 120_000);
});
