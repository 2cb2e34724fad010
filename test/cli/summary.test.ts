import { describe, expect, it } from 'vitest';
import type { FeedSummary } from '../../src/feed/feed.job.ts';
import { summaryLine } from '../../src/feed/feed.summary.ts';

const summary = (over: Partial<FeedSummary>): FeedSummary => ({
  status: 'published',
  exitCode: 0,
  offers: 1,
  categories: 1,
  stockBlocks: 0,
  productRowsRead: 2,
  rejectedProducts: 1,
  errors: 1,
  warnings: 1,
  byCode: { 'product.price.not_positive': 1 },
  bytes: 2_500_000,
  gzBytes: 400_000,
  seconds: 187.26,
  version: 'v1',
  reportPath: '/feeds/catalog.report.json',
  runId: 1,
  firstIds: {},
  ...over,
});

describe('summaryLine', () => {
  it('says "1 offer", "1 product", "1 error", "1 warning" and a rounded duration', () => {
    expect(summaryLine('feed', summary({}))).toBe(
      'feed published: 1 offer (version v1), 1 product rejected, 1 error, 1 warning, 2.5 MB xml / 0.4 MB gz, 3 min 07 s [product.price.not_positive 1]',
    );
  });

  it('uses plurals for other counts', () => {
    expect(
      summaryLine(
        'validate',
        summary({ offers: 0, rejectedProducts: 2, errors: 2, warnings: 0, byCode: {}, seconds: 2.345 }),
      ),
    ).toBe('validate: 0 offers valid, 2 products rejected, 2 errors, 0 warnings, 2.3 s');
  });
});
