import { mkdtemp, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMigrations, migrate, MIGRATIONS_DIR } from '../src/db/migrate.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

let db: TestDatabase | undefined;
afterEach(async () => {
  await db?.drop();
  db = undefined;
});

describe('migrate', () => {
  it('creates the rr_sync schema on a clean database', async () => {
    db = await createTestDatabase({ migrate: false });
    const result = await migrate(db.pool, silentLogger);
    const files = await loadMigrations();
    expect(result).toEqual({ applied: files.map((m) => m.name), current: files.at(-1)!.version });
    expect(result.applied[0]).toBe('0001_state');
    const { rows } = await db.pool.query(
      "select table_name from information_schema.tables where table_schema = 'rr_sync' order by 1",
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['runs', 'feed_versions', 'schema_migrations']),
    );
    const { rows: recorded } = await db.pool.query(
      'select name from rr_sync.schema_migrations order by version',
    );
    expect(recorded.map((r) => r.name)).toEqual(result.applied);
  });

  it('is idempotent: a second run applies nothing', async () => {
    db = await createTestDatabase({ migrate: false });
    await migrate(db.pool, silentLogger);
    const again = await migrate(db.pool, silentLogger);
    expect(again.applied).toEqual([]);
  });

  it('applies each migration once when two runners start together', async () => {
    db = await createTestDatabase({ migrate: false });
    const [a, b] = await Promise.all([migrate(db.pool, silentLogger), migrate(db.pool, silentLogger)]);
    const files = await loadMigrations();
    expect([...a.applied, ...b.applied].sort()).toEqual(files.map((m) => m.name).sort());
    const { rows } = await db.pool.query('select count(*)::int as n from rr_sync.schema_migrations');
    expect(rows[0].n).toBe(a.applied.length + b.applied.length);
  });

  it('refuses a database that is newer than the code', async () => {
    db = await createTestDatabase();
    await db.pool.query(
      "insert into rr_sync.schema_migrations (version, name, checksum) values (9999, '9999_from_the_future', 'x')",
    );
    await expect(migrate(db.pool, silentLogger)).rejects.toMatchObject({
      code: 'db.newer_than_code',
      exitCode: 2,
    });
  });

  it('refuses when an applied migration file was edited afterwards', async () => {
    db = await createTestDatabase();
    const dir = await mkdtemp(path.join(tmpdir(), 'rr-mig-'));
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await writeFile(path.join(dir, '0001_state.sql'), '-- edited\n', { flag: 'a' });
    await expect(migrate(db.pool, silentLogger, dir)).rejects.toMatchObject({ code: 'db.migration_changed' });
  });
});
