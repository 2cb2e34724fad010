import { DEFAULT_DEMO_SEED, seedDemo, type DemoSummary } from '../../demo/demo.seed.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import { count, formatDuration, grouped } from '../../shared/text.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';

export const DEFAULT_DEMO_PRODUCTS = 10_000;
/** Far above the benchmark's 1M; guards against a typo that would fill the disk. */
const MAX_DEMO_PRODUCTS = 50_000_000;

function wholeNumberFlag(value: unknown, flag: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const text = String(value).replace(/_/g, '');
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new AppError(
      'usage.invalid',
      `--${flag} must be a whole number from ${min} to ${max}, got '${String(value)}'`,
      {
        details: { flag, value: String(value) },
      },
    );
  }
  return n;
}

function describe(s: DemoSummary): string {
  const c = (n: number, one: string, many?: string) => count(n, one, many, grouped);
  return (
    `demo store seeded in schema "${s.schema}" in ${formatDuration(s.seconds)}: ${c(s.products, 'product')} ` +
    `(${c(s.productRows, 'row')} with the planted ones), ${c(s.stockRows, 'stock row')}, ${c(s.categories, 'category', 'categories')}, ` +
    `${c(s.warehouses, 'warehouse')}; ${c(s.invalidRows, 'row is', 'rows are')} broken on purpose so that the run report has something to show`
  );
}

export const demoCommand: Command = {
  name: 'demo',
  summary:
    'create (or recreate) a deterministic demo store in CATALOG_SCHEMA; never touches a schema it did not create',
  usage: 'demo [--products N] [--seed S]',
  flags: {
    products: {
      type: 'string',
      description: `number of products to generate (default ${DEFAULT_DEMO_PRODUCTS})`,
    },
    seed: {
      type: 'string',
      description: `random seed: the same seed gives the same rows (default ${DEFAULT_DEMO_SEED})`,
    },
  },
  async run(ctx) {
    // Flags are checked before any connection is opened: a typo never touches the database.
    const products = wholeNumberFlag(
      ctx.flags.products,
      'products',
      1,
      MAX_DEMO_PRODUCTS,
      DEFAULT_DEMO_PRODUCTS,
    );
    const seed = wholeNumberFlag(ctx.flags.seed, 'seed', 0, 0xffff_ffff, DEFAULT_DEMO_SEED);
    const dbs = await openDatabases(ctx.config, ctx.logger);
    try {
      const summary = await seedDemo(
        dbs.catalog,
        { schema: ctx.config.catalogSchema, products, seed },
        ctx.logger,
      );
      ctx.out(ctx.json ? JSON.stringify({ ok: true, ...summary }) : describe(summary));
      return EXIT.ok;
    } finally {
      await dbs.close();
    }
  },
};
