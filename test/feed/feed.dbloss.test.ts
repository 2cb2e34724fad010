import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '../../src/demo/demo.seed.ts';
import { runFeedJob } from '../../src/feed/feed.job.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import {
  createFeedHarness,
  readPublished,
  sha256,
  tempEntries,
  type FeedHarness,
  type PublishedFiles,
} from './feed.harness.ts';

// Losing PostgreSQL connections in the middle of a real `rr-sync feed` process (issue 6 §3/§4).
// The catalog is large enough that a run is still reading when its backend is terminated; to make
// "mid-run" certain under load, the child is stopped (SIGSTOP) while the backend is terminated.
const PRODUCTS = 30_000;

let h: FeedHarness;
/**
 * The test's own connections, named so that they are never mistaken for the run's. `locker` holds
 * locks in a transaction; `control` watches pg_stat_activity, which a transaction would freeze.
 */
let control: pg.Client;
let locker: pg.Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await createFeedHarness();
  await seedDemo(h.db.pool, { schema: 'store', products: PRODUCTS }, silentLogger);
  expect((await runFeedJob(h.deps)).status).toBe('published');
  control = new pg.Client({ connectionString: h.db.url, application_name: 'dbloss-test' });
  locker = new pg.Client({ connectionString: h.db.url, application_name: 'dbloss-test' });
  await Promise.all([control.connect(), locker.connect()]);
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([control?.end(), locker?.end()]);
  await h?.close();
});

interface Child {
  proc: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startFeed(): Child {
  const proc = spawn(process.execPath, ['src/cli/rr-sync.js', 'feed', '--json'], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: h.db.url,
      FEEDS_DIR: h.feedsDir,
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = once(proc, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { proc, done };
}

/** pids of the run's backends matching `where` (over pg_stat_activity of this database). */
async function backends(where: string, params: unknown[] = []): Promise<number[]> {
  const { rows } = await control.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
        and ${where}`,
    params,
  );
  return rows.map((r) => r.pid);
}

/** Poll until `where` matches a backend of the running child; then stop the child there. */
async function pauseWhen(child: Child, where: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) {
      const r = await child.done;
      throw new Error(`the run ended (exit ${r.code}) before the moment came: ${r.stderr}`);
    }
    if ((await backends(where)).length > 0) {
      child.proc.kill('SIGSTOP');
      // The child may have moved on between the poll and the stop: look again while it stands.
      if ((await backends(where)).length > 0) return;
      child.proc.kill('SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no backend matched ${where}`);
}

async function terminate(where: string, params: unknown[] = []): Promise<void> {
  const pids = await backends(where, params);
  expect(pids.length).toBeGreaterThan(0);
  for (const pid of pids) await control.query('select pg_terminate_backend($1)', [pid]);
}

const PRODUCTS_COPY = `application_name = 'rr-sync:snapshot-a' and state = 'active' and query like 'COPY%'`;

/** Make the next run's feed differ from the published one. */
async function changeCatalog(): Promise<void> {
  await control.query(`update store.products set price = price + 1 where id::text like '%7'`);
}

async function lastRun() {
  const { rows } = await control.query<{
    id: string;
    status: string;
    exit_code: number | null;
    code: string | null;
    error: string | null;
  }>(
    `select id, status, exit_code, summary->>'code' as code, error from rr_sync.runs order by id desc limit 1`,
  );
  return rows[0];
}

async function expectDbUnreachable(child: Child, before: PublishedFiles): Promise<void> {
  const r = await child.done;
  expect(r.stderr).not.toMatch(/Unhandled|unexpected failure/);
  expect(r.code, r.stderr).toBe(4);
  const lines = r.stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ ok: false, error: { code: 'db.unreachable' } });
  expect(r.stderr).toMatch(/^rr-sync feed: .*(terminat|Lost the connection)/m);
  expect(await lastRun()).toMatchObject({ status: 'failed', exit_code: 4, code: 'db.unreachable' });
  expect(await tempEntries(h.feedsDir)).toEqual([]);
  const after = (await readPublished(h.feedsDir))!;
  expect(after.manifest).toEqual(before.manifest);
  expect(sha256(after.xml)).toBe(before.manifest.sha256);
  expect(sha256(after.gz)).toBe(before.manifest.gzSha256);
}

describe('a feed run that loses a database connection', () => {
  it('a pool connection during a state write: exit 4, the run recorded failed once the row is free', async () => {
    // The catalog is as published: the run would end 'unchanged', publishing nothing.
    const before = (await readPublished(h.feedsDir))!;
    const child = startFeed();
    // Hold the run's row: its closing update waits on our lock, visibly, until terminated.
    await pauseWhen(child, PRODUCTS_COPY);
    await locker.query('begin');
    await locker.query(`select id from rr_sync.runs where status = 'running' for update`);
    child.proc.kill('SIGCONT');
    const write = `wait_event_type = 'Lock' and query like 'update rr_sync.runs%'`;
    for (let i = 0; (await backends(write)).length === 0; i++) {
      if (child.proc.exitCode !== null || i > 9000) throw new Error('the run never reached its state write');
      await new Promise((r) => setTimeout(r, 10));
    }
    await terminate(write);
    await locker.query('rollback');
    await expectDbUnreachable(child, before);
  }, 120_000);

  it('the lock connection: the run stops (it no longer holds the lock), exit 4, recorded failed', async () => {
    await changeCatalog();
    const before = (await readPublished(h.feedsDir))!;
    const child = startFeed();
    await pauseWhen(child, PRODUCTS_COPY);
    expect(await tempEntries(h.feedsDir)).not.toEqual([]);
    await terminate(`application_name = 'rr-sync:lock'`);
    child.proc.kill('SIGCONT');
    await expectDbUnreachable(child, before);
    expect((await lastRun()).error).toMatch(/^Lost the connection that held the feed job lock/);
  }, 120_000);

  it('the products snapshot connection mid-COPY: exit 4, recorded failed, previous feed served', async () => {
    const before = (await readPublished(h.feedsDir))!;
    const child = startFeed();
    await pauseWhen(child, PRODUCTS_COPY);
    await terminate(`application_name = 'rr-sync:snapshot-a'`);
    child.proc.kill('SIGCONT');
    await expectDbUnreachable(child, before);
  }, 120_000);

  it('the stock snapshot connection mid-COPY: exit 4, recorded failed, previous feed served', async () => {
    const before = (await readPublished(h.feedsDir))!;
    const child = startFeed();
    await pauseWhen(
      child,
      `${PRODUCTS_COPY} and exists (select 1 from pg_stat_activity b where b.datname = current_database()
         and b.application_name = 'rr-sync:snapshot-b' and b.query like 'COPY%')`,
    );
    await terminate(`application_name = 'rr-sync:snapshot-b'`);
    child.proc.kill('SIGCONT');
    await expectDbUnreachable(child, before);
  }, 120_000);

  it('recording the version failing after the swap: the live feed is recorded published, not failed', async () => {
    await changeCatalog();
    const before = (await readPublished(h.feedsDir))!;
    await locker.query('begin');
    // SHARE blocks the version insert (after the swap) but not the reads before it.
    await locker.query('lock table rr_sync.feed_versions in share mode');
    const child = startFeed();
    const insert = `wait_event_type = 'Lock' and query like 'insert into rr_sync.feed_versions%'`;
    for (let i = 0; (await backends(insert)).length === 0; i++) {
      if (child.proc.exitCode !== null || i > 9000) throw new Error('the run never recorded its version');
      await new Promise((r) => setTimeout(r, 10));
    }
    await terminate(insert);
    await locker.query('rollback');
    const r = await child.done;
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'db.unreachable' } });

    const live = (await readPublished(h.feedsDir))!;
    expect(live.manifest.version).not.toBe(before.manifest.version);
    expect(sha256(live.xml)).toBe(live.manifest.sha256);
    const run = await lastRun();
    expect(run).toMatchObject({ status: 'published', exit_code: 4 });
    expect(run.error).toMatch(/^the feed went live, but recording it failed at first: .*terminat/);
    expect(live.manifest.runId).toBe(Number(run.id));
    const { rows } = await control.query<{ run_id: string }>(
      'select run_id from rr_sync.feed_versions where version = $1',
      [live.manifest.version],
    );
    expect(rows).toEqual([{ run_id: run.id }]);
  }, 120_000);
});
