import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { AppError } from '../../src/shared/errors.ts';
import {
  createFeedHarness,
  products,
  readPublished,
  tempEntries,
  versionNames,
  type FeedHarness,
  type PublishedFiles,
} from './feed.harness.ts';
import { createStore } from './store.fixture.ts';

let h: FeedHarness;
let before: PublishedFiles;
let versions: string[];

beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, { products: products(20) });
  await runFeedJob(h.deps, { now: () => new Date(Date.UTC(2026, 10, 1)) });
  before = (await readPublished(h.feedsDir))!;
  versions = await versionNames(h.feedsDir);
  // A different catalog, so that a run that passed its self-check would publish.
  await createStore(h.db.pool, { products: products(20, '12.00') });
});
afterAll(() => h?.close());

const LT = '<'.charCodeAt(0);

describe('self-check of the written file', () => {
  it.each([
    [
      'one flipped byte inside a text',
      (c: Buffer) => void (c[c.indexOf('Product 7') + 3] ^= 0x01),
      /^catalog\.xml\.gz does not decompress to the same bytes as catalog\.xml$/,
    ],
    [
      'one flipped byte in an offer id',
      (c: Buffer) => void (c[c.indexOf('<offer id="1') + 11] ^= 0x01),
      /^the offer ids in catalog\.xml differ from those written$/,
    ],
    [
      'a stray < inserted',
      (c: Buffer) => void (c[c.indexOf('Product 3')] = LT),
      /^catalog\.xml does not parse: /,
    ],
    [
      'a truncated end (the closing tags blanked)',
      (c: Buffer) => void c.fill(0x20, c.lastIndexOf('</offers>')),
      /^catalog\.xml does not parse: /,
    ],
  ])('%s fails the run with feed.self_check_failed and publishes nothing', async (_, corrupt, problem) => {
    let corrupted = false;
    const err = await runFeedJob(h.deps, {
      hooks: {
        corruptXml: (chunk) => {
          if (corrupted || !chunk.includes('</offers>')) return;
          corrupt(chunk);
          corrupted = true;
        },
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(corrupted).toBe(true);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('feed.self_check_failed');
    expect((err as AppError).exitCode).toBe(1);
    const problems = (err as AppError).details?.problems as string[];
    expect(problems.some((p) => problem.test(p))).toBe(true);
    const after = (await readPublished(h.feedsDir))!;
    expect(after.manifest).toEqual(before.manifest);
    expect(after.xml.equals(before.xml)).toBe(true);
    expect(await versionNames(h.feedsDir)).toEqual(versions);
    expect(await tempEntries(h.feedsDir)).toEqual([]);
    const { rows } = await h.db.pool.query<{ status: string; error: string }>(
      'select status, error from rr_sync.runs order by id desc limit 1',
    );
    expect(rows[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/^Self-check failed/) });
  });

  it('passes without the hook (the catalog change itself is publishable)', async () => {
    const s = await runFeedJob(h.deps);
    expect(s.status).toBe('published');
  });
});
