import pg from 'pg';
import { AppError, isDatabaseUnreachable, markDatabaseConnectionError } from '../shared/errors.ts';
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

/** `application_name` of each connection role, so operators (and tests) can tell them apart in pg_stat_activity. */
export const APP_NAMES = {
  pool: 'rr-sync',
  lock: 'rr-sync:lock',
  snapshotProducts: 'rr-sync:snapshot-a',
  snapshotStocks: 'rr-sync:snapshot-b',
  indexWatch: 'rr-sync:index-watch',
} as const;

/**
 * Connections a long-running process (serve, run) keeps open and warm for the storefront's index
 * reads (openDatabases' `min`, startStorefront's warm-up): the rest of the pool opens on demand.
 */
export const KEPT_CONNECTIONS = 5;

export interface PoolOptions {
  max?: number;
  /**
   * Connections kept open however long they idle (default 0): a serving process keeps its warm
   * backends (warmIndexConnections) instead of reopening them cold at the next burst.
   */
  min?: number;
  /** How long a connection above `min` may idle before it is closed (default 10 s). */
  idleTimeoutMillis?: number;
  applicationName?: string;
}

export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 5,
    min: options.min ?? 0,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 10_000,
    application_name: options.applicationName ?? APP_NAMES.pool,
    connectionTimeoutMillis: 10_000,
    // A peer that vanished without a FIN/RST (cable, NAT, failover) is found within about a minute
    // instead of the kernel's two-hour default.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that dies (server restart) must not crash the process.
  pool.on('error', () => undefined);
  // Neither may a client that dies while checked out (a run's lock or snapshot connection, a
  // state write): pg emits 'error' on it, which without a listener ends the process. The error
  // also fails the client's queries, which is how the run learns of it; marking it lets
  // coerceError call it db.unreachable even when it is a bare socket error.
  pool.on('connect', (client) => client.on('error', markDatabaseConnectionError));
  return pool;
}

/** Socket-level failures, known here to come from the database connection. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
]);

/** Map a connection failure to `db.unreachable` (exit 4), naming host, port and database only. */
export function asUnreachable(err: unknown, url: string): unknown {
  const e = err as { code?: string; message?: string };
  const isConnErr =
    (typeof e?.code === 'string' && NETWORK_CODES.has(e.code)) ||
    /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED/.test(e?.code ?? '') ||
    isDatabaseUnreachable(err);
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
export async function connect(url: string, options?: PoolOptions): Promise<pg.Pool> {
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
  // pg-pool listens for errors only on idle clients: a connection lost between two statements of
  // this transaction would otherwise be an unhandled 'error' event that ends the process. The next
  // query fails with it anyway.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** Quote an SQL identifier (schema name): done once at start-up, never per query. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
