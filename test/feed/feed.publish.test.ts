import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { FEED_FILES } from '../../src/feed/feed.layout.ts';
import { startApp } from '../../src/app/app.ts';
import { silentLogger } from '../../src/shared/logger.ts';
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
afterAll(() => h?.close());

// Every test starts on a day of its own, so its versions never share a name with another test's.
let day = 0;
beforeEach(() => {
  day++;
});
const at = (minutes: number) => () => new Date(Date.UTC(2026, 10, day, 2, minutes));

async function fetchFeed(headers: Record<string, string> = { 'accept-encoding': 'identity' }) {
  const server = await startApp({ config: h.config, logger: silentLogger }, { port: 0 });
  try {
    const res = await fetch(`${server.url}/feeds/catalog.xml`, { headers });
    return {
      status: res.status,
      etag: res.headers.get('etag'),
      lastModified: res.headers.get('last-modified'),
      body: Buffer.from(await res.arrayBuffer()),
    };
  } finally {
    await server.close();
  }
}

describe('byte stability', () => {
  beforeEach(() => h.resetFeeds());

  it('a second run over the same catalog is unchanged: same bytes, manifest, ETag and Last-Modified', async () => {
    await createStore(h.db.pool, { products: products(10) });
    const first = await runFeedJob(h.deps, { now: at(0) });
    expect(first.status).toBe('published');
    const before = await readPublished(h.feedsDir);
    const manifestBefore = await readFile(path.join(h.feedsDir, 'current', FEED_FILES.manifest));
    const servedBefore = await fetchFeed();
    expect(servedBefore.status).toBe(200);
    expect(servedBefore.etag).toBe(`"${before!.manifest.sha256}"`);

    const second = await runFeedJob(h.deps, { now: at(90) });
    expect(second).toMatchObject({ status: 'unchanged', exitCode: 0, version: first.version, offers: 10 });
    const after = await readPublished(h.feedsDir);
    expect(after!.xml.equals(before!.xml)).toBe(true);
    expect(after!.gz.equals(before!.gz)).toBe(true);
    expect(await readFile(path.join(h.feedsDir, 'current', FEED_FILES.manifest))).toEqual(manifestBefore);
    expect(await versionNames(h.feedsDir)).toEqual([first.version]);

    const servedAfter = await fetchFeed();
    expect(servedAfter).toMatchObject({
      status: 200,
      etag: servedBefore.etag,
      lastModified: servedBefore.lastModified,
    });
    expect(servedAfter.body.equals(servedBefore.body)).toBe(true);
    expect(new Date(servedAfter.lastModified!).toISOString()).toBe(at(0)().toISOString());
    expect(
      (await fetchFeed({ 'accept-encoding': 'identity', 'if-none-match': servedBefore.etag! })).status,
    ).toBe(304);
    const gz = await fetchFeed({ 'accept-encoding': 'gzip' });
    expect(gz.etag).toBe(`"${before!.manifest.gzSha256}"`);
  });

  it('a changed catalog publishes a new version, and only the newest FEED_KEEP_VERSIONS are kept', async () => {
    await h.resetFeeds({ FEED_KEEP_VERSIONS: '2' });
    const published: string[] = [];
    for (let i = 0; i < 4; i++) {
      await createStore(h.db.pool, { products: products(10, `${11 + i}.00`) });
      const s = await runFeedJob(h.deps, { now: at(i) });
      expect(s.status).toBe('published');
      expect(published).not.toContain(s.version);
      published.push(s.version!);
      const current = await readPublished(h.feedsDir);
      expect(current!.manifest.version).toBe(s.version);
      expect(current!.xml.toString()).toContain(`<price>${11 + i}</price>`);
    }
    expect(await versionNames(h.feedsDir)).toEqual(published.slice(-2));
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });
});

describe('version names', () => {
  beforeEach(() => h.resetFeeds());

  it('A, B, then A again within one second: A is published again under a name of its own', async () => {
    const published: string[] = [];
    for (const price of ['11.00', '12.00', '11.00']) {
      await createStore(h.db.pool, { products: products(10, price) });
      const s = await runFeedJob(h.deps, { now: at(0) });
      expect(s.status).toBe('published');
      published.push(s.version!);
    }
    expect(new Set(published).size).toBe(3);
    // Names still sort by publish time: the newest is the one served.
    expect(await versionNames(h.feedsDir)).toEqual(published);
    const current = await readPublished(h.feedsDir);
    expect(current!.manifest.version).toBe(published[2]);
    expect(current!.xml.toString()).toContain('<price>11</price>');
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });
});

describe('publish gate', () => {
  beforeEach(() => h.resetFeeds());

  it('refuses a feed without offers, even as the first one', async () => {
    await createStore(h.db.pool, { products: [] });
    const s = await runFeedJob(h.deps, { now: at(0) });
    expect(s).toMatchObject({ status: 'refused', exitCode: 3, offers: 0, version: null });
    expect(s.reason).toMatch(/no offers/);
    expect(await readPublished(h.feedsDir)).toBeNull();
    expect(await tempEntries(h.feedsDir)).toEqual([]);
  });

  it('keeps the previous feed when the new one has no offers or loses more than FEED_MAX_DROP', async () => {
    await createStore(h.db.pool, { products: products(10) });
    const first = await runFeedJob(h.deps, { now: at(0) });
    const before = await readPublished(h.feedsDir);

    for (const [n, pattern] of [
      [0, /no offers/],
      [7, /7 offers, 30\.0 % fewer than the 10 published/],
    ] as const) {
      await createStore(h.db.pool, { products: products(n, '9.99') });
      const s = await runFeedJob(h.deps, { now: at(5) });
      expect(s).toMatchObject({ status: 'refused', exitCode: 3, offers: n, version: null });
      expect(s.reason).toMatch(pattern);
      const after = await readPublished(h.feedsDir);
      expect(after!.manifest).toEqual(before!.manifest);
      expect(after!.xml.equals(before!.xml)).toBe(true);
      expect(await versionNames(h.feedsDir)).toEqual([first.version]);
      expect(await tempEntries(h.feedsDir)).toEqual([]);
    }

    // Exactly FEED_MAX_DROP (20 %) is allowed.
    await createStore(h.db.pool, { products: products(8, '9.99') });
    expect((await runFeedJob(h.deps, { now: at(10) })).status).toBe('published');
  });

  it('publishes a refused feed with force', async () => {
    await createStore(h.db.pool, { products: products(10) });
    await runFeedJob(h.deps, { now: at(0) });
    await createStore(h.db.pool, { products: products(2, '9.99') });
    const s = await runFeedJob(h.deps, { now: at(5), force: true });
    expect(s).toMatchObject({ status: 'published', exitCode: 0, offers: 2 });
    expect((await readPublished(h.feedsDir))!.manifest.offers).toBe(2);
  });

  it('exits 3 through the CLI when refused, and 0 with --force', async () => {
    await createStore(h.db.pool, { products: products(10) });
    expect((await runCli(['feed'], h.env)).code).toBe(0);
    await createStore(h.db.pool, { products: products(1, '9.99') });
    const refused = await runCli(['feed'], h.env);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/feed refused: 1 offer,.*publish gate refused/);
    expect((await readPublished(h.feedsDir))!.manifest.offers).toBe(10);
    expect((await runCli(['feed', '--force'], h.env)).code).toBe(0);
    expect((await readPublished(h.feedsDir))!.manifest.offers).toBe(1);
  });
});
