import { access } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { AppError } from '../../src/shared/errors.ts';
import {
  createFeedHarness,
  products,
  readPublished,
  runCli,
  tempEntries,
  versionNames,
  type FeedHarness,
} from './feed.harness.ts';
import { createStore } from './store.fixture.ts';

let h: FeedHarness;
beforeAll(async () => {
  h = await createFeedHarness();
});
// A catalog of its own per test, so each test publishes a version of its own in the shared database.
let round = 0;
beforeEach(async () => {
  await h.resetFeeds();
  round++;
  await createStore(h.db.pool, { products: [...products(5, `${round}.00`), { id: 'x1' }] });
});
afterAll(() => h?.close());

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe('rr-sync feed / validate', () => {
  it('feed --json prints exactly one JSON line with the summary', async () => {
    const run = await runCli(['feed', '--json'], h.env);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]);
    const published = await readPublished(h.feedsDir);
    expect(summary).toMatchObject({
      ok: true,
      status: 'published',
      exitCode: 0,
      offers: 5,
      rejectedProducts: 1,
      errors: 1,
      byCode: { 'product.id.not_integer': 1 },
      version: published!.manifest.version,
      bytes: published!.manifest.bytes,
      gzBytes: published!.manifest.gzBytes,
    });
  });

  it('validate --json reports and writes no feed', async () => {
    const run = await runCli(['validate', '--json'], h.env);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ ok: true, status: 'validated', offers: 5, errors: 1 });
    expect(await readPublished(h.feedsDir)).toBeNull();
    expect(await exists(path.join(h.feedsDir, 'catalog.xml'))).toBe(false);
    expect(await versionNames(h.feedsDir)).toEqual([]);
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });

  it('feed --dry-run builds and checks the feed but publishes nothing', async () => {
    const run = await runCli(['feed', '--dry-run', '--json'], h.env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, status: 'dry_run', offers: 5, version: null });
    expect(JSON.parse(run.stdout).bytes).toBeGreaterThan(0);
    expect(await readPublished(h.feedsDir)).toBeNull();
    expect(await versionNames(h.feedsDir)).toEqual([]);
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });

  it('feed --dry-run leaves a published feed as it was', async () => {
    expect((await runCli(['feed'], h.env)).code).toBe(0);
    const before = await readPublished(h.feedsDir);
    await createStore(h.db.pool, { products: products(6, '0.50') });
    const run = await runCli(['feed', '--dry-run'], h.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^dry run: would publish 6 offers/);
    expect(await readPublished(h.feedsDir)).toEqual(before);
  });

  it('exits 2 naming store.products when the relation is missing', async () => {
    await h.db.pool.query('drop table store.products');
    const run = await runCli(['feed'], h.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('store.products');
    expect(await readPublished(h.feedsDir)).toBeNull();
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });

  it('exits 4 naming host, port and database of an unreachable database, never its password', async () => {
    const env = { ...h.env, DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:1/x' };
    for (const argv of [['feed'], ['feed', '--json'], ['validate']]) {
      const run = await runCli(argv, env);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('127.0.0.1:1/x');
      expect(run.stdout + run.stderr).not.toContain('secretpw');
      if (argv.includes('--json')) {
        expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'db.unreachable' } });
      }
    }
  });

  it('refuses a second run while one is going: job.already_running', async () => {
    let release!: () => void;
    let reached!: () => void;
    const atPublish = new Promise<void>((r) => (reached = r));
    const first = runFeedJob(h.deps, {
      hooks: {
        beforePublish: () => {
          reached();
          return new Promise<void>((r) => (release = r));
        },
      },
    });
    await atPublish;
    try {
      const second = await runFeedJob(h.deps).then(
        () => null,
        (e: unknown) => e,
      );
      expect(second).toBeInstanceOf(AppError);
      expect((second as AppError).code).toBe('job.already_running');

      const cli = await runCli(['feed', '--json'], h.env);
      expect(cli.code).toBe(1);
      expect(JSON.parse(cli.stdout)).toMatchObject({ ok: false, error: { code: 'job.already_running' } });
      expect(cli.stderr).toMatch(/Another feed run holds the lock/);
    } finally {
      release();
    }
    expect((await first).status).toBe('published');
    // The lock is free again.
    expect((await runFeedJob(h.deps)).status).toBe('unchanged');
  });
});
