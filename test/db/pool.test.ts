import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createPool, describeDatabase } from '../../src/db/pool.ts';
import {
  AppError,
  coerceError,
  isDatabaseUnreachable,
  markDatabaseConnectionError,
} from '../../src/shared/errors.ts';
import { runCli } from '../feed/feed.harness.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let admin: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  admin = new pg.Client({ connectionString: db.url, application_name: 'pool-test-admin' });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

const backendPid = async (c: pg.PoolClient) =>
  (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0].pid;

function withPassword(url: string, password: string, query = ''): string {
  const u = new URL(url);
  u.password = password;
  return `${u.toString()}${query}`;
}

describe('pool connections that die', () => {
  it('a checked-out client killed while idle does not end the process; its next query is db.unreachable', async () => {
    const pool = createPool(db.url, { max: 2 });
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      const died = once(client, 'error');
      await admin.query('select pg_terminate_backend($1)', [pid]);
      const [err] = await died;
      expect(isDatabaseUnreachable(err)).toBe(true);
      const next = await client.query('select 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(coerceError(next)).toMatchObject({ code: 'db.unreachable', exitCode: 4 });
      client.release();
      // The pool drops the dead client and serves the next caller from a fresh connection.
      expect((await pool.query<{ n: number }>('select 41 + 1 as n')).rows[0].n).toBe(42);
    } finally {
      await pool.end();
    }
  });

  it('a query in flight on a killed connection fails with db.unreachable (exit 4)', async () => {
    const pool = createPool(db.url, { max: 2 });
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      const running = client.query('select pg_sleep(60)').then(
        () => null,
        (e: unknown) => e,
      );
      await admin.query('select pg_terminate_backend($1)', [pid]);
      const e = coerceError(await running);
      expect(e).toBeInstanceOf(AppError);
      expect(e).toMatchObject({ code: 'db.unreachable', exitCode: 4 });
      expect(e.message).toMatch(/terminating connection due to administrator command/);
      client.release();
    } finally {
      await pool.end();
    }
  });

  it('an idle pooled client killed by the server is replaced', async () => {
    const pool = createPool(db.url, { max: 1 });
    try {
      const client = await pool.connect();
      const pid = await backendPid(client);
      client.release();
      await admin.query('select pg_terminate_backend($1)', [pid]);
      // Wait until the pool has seen its idle client die (the server's FATAL reached the socket):
      // the backend leaving pg_stat_activity came first on a loaded CI machine, and the pool then
      // still handed out the dead client (failed once on Node 20).
      while (pool.totalCount > 0) await new Promise((r) => setTimeout(r, 20));
      const { rows } = await pool.query<{ pid: number }>('select pg_backend_pid() as pid');
      expect(rows[0].pid).not.toBe(pid);
    } finally {
      await pool.end();
    }
  });

  it('pools turn TCP keep-alive on and name their connections rr-sync', async () => {
    const pool = createPool(db.url);
    try {
      expect(pool.options).toMatchObject({ keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
      const { rows } = await pool.query<{ name: string }>(
        `select current_setting('application_name') as name`,
      );
      expect(rows[0].name).toBe('rr-sync');
    } finally {
      await pool.end();
    }
  });
});

describe('an SSL handshake the server refuses', () => {
  it('connect() with sslmode=require against a server without SSL is db.unreachable, no password shown', async () => {
    const url = withPassword(db.url, 'hunter2-secret', '?sslmode=require');
    const err = await connect(url).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    const e = err as AppError;
    expect(e.code).toBe('db.unreachable');
    expect(e.exitCode).toBe(4);
    // The test server's own host and port (the machine's server, or the embedded one).
    const at = describeDatabase(db.url).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(e.message).toMatch(new RegExp(`^Cannot reach PostgreSQL at ${at}: .*SSL`));
    expect(e.message).not.toContain('hunter2-secret');
  });

  it('rr-sync feed exits 4 with db.unreachable in --json', async () => {
    const url = withPassword(db.url, 'hunter2-secret', '?sslmode=require');
    const run = await runCli(['feed', '--json'], {
      DATABASE_URL: url,
      FEEDS_DIR: '/nonexistent-never-used',
      LOG_LEVEL: 'silent',
    });
    expect(run.code).toBe(4);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'db.unreachable' } });
    expect(run.stderr).toMatch(/^rr-sync feed: Cannot reach PostgreSQL at .*SSL/);
    expect(run.stdout + run.stderr).not.toContain('hunter2-secret');
  });
});

describe('coerceError and database errors', () => {
  it('maps what a lost or refused connection says to db.unreachable, and nothing else', () => {
    const sqlstate = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300', '28P01', '3D000']) {
      expect(coerceError(sqlstate(code)), code).toMatchObject({ code: 'db.unreachable', exitCode: 4 });
    }
    for (const message of [
      'Connection terminated unexpectedly',
      'Client has encountered a connection error and is not queryable',
      'timeout exceeded when trying to connect',
      'The server does not support SSL connections',
    ]) {
      expect(coerceError(new Error(message)), message).toMatchObject({ code: 'db.unreachable' });
    }
    // A query that is wrong is not a lost database; nor is a socket error of unknown origin.
    for (const e of [sqlstate('23505'), sqlstate('42P01'), sqlstate('57014')]) {
      expect(coerceError(e)).toBe(e);
    }
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(coerceError(reset)).toBe(reset);
    markDatabaseConnectionError(reset);
    expect(coerceError(reset)).toMatchObject({ code: 'db.unreachable', cause: reset });
  });
});
