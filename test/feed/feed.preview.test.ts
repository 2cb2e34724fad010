import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createFeedHarness, readPublished, runCli, versionNames, type FeedHarness } from './feed.harness.ts';

// Issue 10 §7 and §10, against the demo store (whose 18 planted rows break known rules):
// `validate` and `feed --dry-run` show what would be left out and point only at files that exist;
// a dry run says what a real run would do, never that it did it.

let h: FeedHarness;
beforeAll(async () => {
  h = await createFeedHarness();
  await seedDemo(h.db.pool, { schema: 'store', products: 300 }, silentLogger);
});
afterAll(() => h?.close());

const reportLine = (stdout: string) => /^report: (\S+)/m.exec(stdout)?.[1];
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('validate on the demo store', () => {
  it('lists the first rejected ids per reason code and the report it wrote', async () => {
    await h.resetFeeds();
    const run = await runCli(['validate'], h.env);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^validate: \d+ offers valid, 10 products rejected, 14 errors, 6 warnings/);
    expect(lines).toContain('left out (first ids per reason code):');
    // Ids as the demo plants them (src/demo/demo.invalid.ts), each under its reason code.
    for (const line of [
      '  product.id.not_integer (1): SKU-17',
      '  product.id.leading_zero (1): 0123',
      '  product.id.duplicate (2): 990000003',
      '  product.price.not_positive (1): 990000004',
      '  product.category.none_valid (2): 990000008, 990000009',
      '  category.cycle (2): 9901, 9902',
      '  stock.unknown_warehouse (1): 100001/kazan',
    ])
      expect(lines).toContain(line);
    expect(lines).toContain('kept, with a warning:');
    expect(lines).toContain('  product.old_price.not_greater (1): 990000012');
    const report = reportLine(run.stdout);
    expect(report).toBe(path.join(h.feedsDir, 'last-run.report.json'));
    expect(await readJson(report!)).toMatchObject({ status: 'validated' });
  });

  it('shows at most 5 ids per code, then an ellipsis', async () => {
    await h.resetFeeds();
    await h.db.pool.query(`update store.products set price = 0 where id in (
      select id from store.products where id ~ '^1' order by id limit 7)`);
    try {
      const run = await runCli(['validate'], h.env);
      const line = run.stdout.split('\n').find((l) => l.startsWith('  product.price.not_positive'));
      expect(line).toMatch(/^ {2}product\.price\.not_positive \(8\): (\d+, ){4}\d+, …$/);
    } finally {
      await seedDemo(h.db.pool, { schema: 'store', products: 300 }, silentLogger);
    }
  });
});

describe('feed --dry-run', () => {
  it('says it would publish, publishes nothing, and writes its report where it says', async () => {
    await h.resetFeeds();
    const run = await runCli(['feed', '--dry-run'], h.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^dry run: would publish \d+ offers, [\d.]+ MB xml \/ [\d.]+ MB gz \(10 products rejected, 14 errors, 6 warnings, [\d.]+ s\); nothing was published\n/,
    );
    expect(run.stdout).toContain('  product.id.not_integer (1): SKU-17');
    expect(run.stdout).not.toMatch(/dry_run|refused|stays/);
    const report = reportLine(run.stdout);
    expect(report).toBe(path.join(h.feedsDir, 'dry-run.report.json'));
    expect(await readJson(report!)).toMatchObject({ status: 'dry_run' });
    expect(await readPublished(h.feedsDir)).toBeNull();
    expect(await versionNames(h.feedsDir)).toEqual([]);
  });

  it('says the gate would refuse a shrunken catalog, exits 3 like the real run, and touches nothing', async () => {
    await h.resetFeeds();
    expect((await runCli(['feed'], h.env)).code).toBe(0);
    const published = await readPublished(h.feedsDir);
    const lastRun = await readFile(path.join(h.feedsDir, 'last-run.report.json'));
    await h.db.pool.query(`delete from store.products where id ~ '^1' and id::bigint % 2 = 0`);
    try {
      const run = await runCli(['feed', '--dry-run'], h.env);
      expect(run.code).toBe(3);
      expect(run.stdout).toMatch(
        /^dry run: the publish gate would refuse this feed: the new feed has \d+ offers, [\d.]+ % fewer than the \d+ published \(FEED_MAX_DROP=0\.2\) \(.*\); nothing was published \(--force overrides the gate\)\n/,
      );
      const report = reportLine(run.stdout)!;
      expect(await readJson(report)).toMatchObject({ status: 'refused' });
      expect(path.basename(report)).toBe('dry-run.report.json');
      expect(await readPublished(h.feedsDir)).toEqual(published);
      expect(await readFile(path.join(h.feedsDir, 'last-run.report.json'))).toEqual(lastRun);

      const json = await runCli(['feed', '--dry-run', '--json'], h.env);
      expect(json.code).toBe(3);
      expect(JSON.parse(json.stdout)).toMatchObject({
        ok: false,
        dryRun: true,
        status: 'refused',
        code: 'feed.gate_refused',
        reportPath: report,
      });
    } finally {
      await seedDemo(h.db.pool, { schema: 'store', products: 300 }, silentLogger);
    }
  });

  it('says it would publish nothing when the catalog is the published one', async () => {
    await h.resetFeeds();
    expect((await runCli(['feed'], h.env)).code).toBe(0);
    const version = (await readPublished(h.feedsDir))!.manifest.version;
    const run = await runCli(['feed', '--dry-run'], h.env);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^dry run: would publish nothing: the catalog is the same as the published version ${version} `,
      ),
    );
  });
});
