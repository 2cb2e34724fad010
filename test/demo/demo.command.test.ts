import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/command.ts';
import { demoCommand } from '../../src/cli/commands/demo.command.ts';
import { loadConfig } from '../../src/config.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db?.drop();
});

function context(flags: CommandContext['flags'], out: string[], json = false): CommandContext {
  return {
    flags,
    positionals: [],
    env: {},
    config: loadConfig({ DATABASE_URL: db.url, CATALOG_SCHEMA: 'cli_store', LOG_LEVEL: 'silent' }),
    logger: silentLogger,
    json,
    out: (line) => out.push(line),
    signal: new AbortController().signal,
  };
}

describe('rr-sync demo', () => {
  it.each(['0', '-5', '1.5', 'ten', '', '1e6', '99999999999'])(
    'refuses --products %j with usage.invalid (exit 2) before touching the database',
    async (value) => {
      const err = await demoCommand.run(context({ products: value }, [])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('usage.invalid');
      expect((err as AppError).exitCode).toBe(2);
    },
  );

  it('refuses a --seed that is not a whole number', async () => {
    const err = await demoCommand.run(context({ products: '10', seed: 'abc' }, [])).catch((e: unknown) => e);
    expect((err as AppError).exitCode).toBe(2);
    const { rows } = await db.pool.query("select to_regnamespace('cli_store') as s");
    expect(rows[0].s).toBeNull();
  });

  it('seeds CATALOG_SCHEMA and prints one JSON summary line with --json', async () => {
    const out: string[] = [];
    const code = await demoCommand.run(context({ products: '300', seed: '5' }, out, true));
    expect(code).toBe(0);
    expect(out).toHaveLength(1);
    const summary = JSON.parse(out[0]!);
    expect(summary).toMatchObject({
      ok: true,
      schema: 'cli_store',
      products: 300,
      productRows: 314,
      warehouses: 5,
    });
    const { rows } = await db.pool.query('select count(*)::int as n from cli_store.products');
    expect(rows[0].n).toBe(314);
  });

  it('prints a human summary without --json', async () => {
    const out: string[] = [];
    expect(await demoCommand.run(context({ products: '20' }, out))).toBe(0);
    expect(out.join('\n')).toMatch(/demo store seeded in schema "cli_store".*20 products/);
  });
});
