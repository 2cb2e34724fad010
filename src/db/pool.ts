import pg from 'pg';
import { AppError } from '../shared/errors.ts';
import { redactUrlsIn } from '../shared/redact.ts';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** "host:port/database" for messages: never the user's password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    const db = decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default)';
    const host = u.hostname || u.searchParams.get('host') || 'localhost';
    return `${host}:${u.port || '5432'}/${db}`;
  } catch {
    return '(unparseable database URL)';
  }
}

export function createPool(url: string, options: { max?: number; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 5,
    application_name: options.applicationName ?? 'rr-catalog-sync',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that dies (server restart) must not crash the process.
  pool.on('error', () => undefined);
  return pool;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EAI_AGAIN',
]);
const UNREACHABLE_SQLSTATES = new Set(['28P01', '28000', '3D000', '57P03', '53300']);

/** Map a connection failure to `db.unreachable` (exit 4), naming host, port and database only. */
export function asUnreachable(err: unknown, url: string): unknown {
  const e = err as { code?: string; message?: string };
  const isConnErr =
    (e?.code && (UNREACHABLE_CODES.has(e.code) || UNREACHABLE_SQLSTATES.has(e.code))) ||
    /timeout expired|Connection terminated/i.test(e?.message ?? '');
  if (!isConnErr) return err;
  const reason = (e.message ?? String(err)).replace(url, describeDatabase(url));
  return new AppError(
    'db.unreachable',
    `Cannot reach PostgreSQL at ${describeDatabase(url)}: ${redactUrlsIn(reason)}`,
    {
      cause: err,
    },
  );
}

/** Open a pool and check that the server answers; failures become exit 4. */
export async function connect(url: string, options?: { max?: number }): Promise<pg.Pool> {
  const pool = createPool(url, options);
  try {
    await pool.query('select 1');
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw asUnreachable(err, url);
  }
}

/** Run `fn` inside BEGIN/COMMIT on one client; ROLLBACK on any error. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Quote an SQL identifier (schema name): done once at start-up, never per query. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
