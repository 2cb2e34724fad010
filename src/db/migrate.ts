import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** Constant advisory-lock key ("rr_sync migrate"), shared by every instance. */
const MIGRATE_LOCK_KEY = 0x72725f6d;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(path.join(dir, file), 'utf8');
      return {
        version: Number(file.slice(0, 4)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

export interface MigrateResult {
  applied: string[];
  current: number;
}

/**
 * Apply pending migrations, each in its own transaction, under a session advisory lock so that
 * concurrent runners (several instances starting together) apply each migration exactly once.
 * Refuses a database whose rr_sync schema is newer than this code, or whose applied migration
 * text differs from the file (someone edited a released migration).
 */
export async function migrate(pool: pg.Pool, logger: Logger, dir = MIGRATIONS_DIR): Promise<MigrateResult> {
  const migrations = await loadMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    await client.query('create schema if not exists rr_sync');
    await client.query(`create table if not exists rr_sync.schema_migrations (
      version integer primary key, name text not null, checksum text not null,
      applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
      'select version, name, checksum from rr_sync.schema_migrations order by version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const m = known.get(row.version);
      if (!m) {
        throw new AppError(
          'db.newer_than_code',
          `The database has migration ${row.name}, which this version of rr-catalog-sync does not know: the database is newer than the code. Upgrade rr-catalog-sync.`,
        );
      }
      if (m.checksum !== row.checksum) {
        throw new AppError(
          'db.migration_changed',
          `Migration ${m.name} was applied with different content than migrations/${m.name}.sql has now; released migrations must not be edited.`,
        );
      }
    }
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      const started = performance.now();
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query(
          'insert into rr_sync.schema_migrations (version, name, checksum) values ($1, $2, $3)',
          [m.version, m.name, m.checksum],
        );
        await client.query('commit');
      } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw new AppError('internal', `Migration ${m.name} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      applied.push(m.name);
      logger.info({ migration: m.name, ms: Math.round(performance.now() - started) }, 'migration applied');
    }
    return { applied, current: migrations.at(-1)?.version ?? 0 };
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATE_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
