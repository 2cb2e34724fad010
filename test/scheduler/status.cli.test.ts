import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { feedJobFor } from '../../src/scheduler/scheduler.jobs.ts';
import { createScheduler } from '../../src/scheduler/scheduler.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { runCli } from '../feed/feed.harness.ts';
import { createRunHarness, type RunHarness } from './run.harness.ts';

let h: RunHarness;
let env: Record<string, string>;
beforeAll(async () => {
  h = await createRunHarness();
  env = { ...h.env, LOG_LEVEL: 'silent' };
}, 120_000);
afterAll(() => h?.close());

function oneJsonLine(stdout: string): Record<string, unknown> {
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, unknown>;
}

describe('rr-sync status', () => {
  it('--json on a fresh state schema: nothing published, nothing pending, no runs', async () => {
    const run = await runCli(['status', '--json'], env);
    expect(run.code).toBe(0);
    expect(oneJsonLine(run.stdout)).toEqual({
      outbox: { pending: 0, oldestPendingSeconds: null },
      deadLetters: 0,
      feed: null,
      runs: [],
    });
  });

  it('--json after a scripted sequence: exact runs, outbox depth and age, open dead letters, feed version', async () => {
    // 1. A manual feed publishes; 2. a scheduled tick runs it again on instance A (unchanged);
    // 3. instance B fires the same tick and records it skipped.
    const feed = await runCli(['feed', '--json'], env);
    expect(feed.code).toBe(0);
    const published = oneJsonLine(feed.stdout) as { version: string; offers: number };
    const config = loadConfig(env);
    const job = feedJobFor({ catalog: h.db.pool, state: h.db.pool, config, logger: silentLogger });
    const deps = { jobs: { feed: job }, state: h.db.pool, config, logger: silentLogger };
    const a = createScheduler({ ...deps, instance: 'host-a:1:aaaaaa' });
    const b = createScheduler({ ...deps, instance: 'host-b:2:bbbbbb' });
    const slot = new Date('2026-12-01T02:00:00Z');
    expect(await a.runTick('feed', slot)).toMatchObject({ outcome: 'ran', status: 'unchanged' });
    expect(await b.runTick('feed', slot)).toMatchObject({ outcome: 'skipped' });
    // 4. Two pending pushes (the oldest enqueued 120 s ago), two open dead letters and one requeued.
    await h.db.pool.query(
      `insert into rr_sync.outbox (key, kind, item_id, body, hash, change, enqueued_at) values
         ('product:1', 'product', '1', '{}', 'h1', 'changed', now() - interval '120 seconds'),
         ('product:2', 'product', '2', '{}', 'h2', 'new', now() - interval '30 seconds')`,
    );
    await h.db.pool.query(
      `insert into rr_sync.dead_letters (key, kind, item_id, body, hash, change, status, error_kind, reason, attempts, enqueued_at, requeued_at) values
         ('product:3', 'product', '3', '{}', 'h3', 'new', 400, 'http', 'bad body', 1, now(), null),
         ('product:4', 'product', '4', '{}', 'h4', 'new', 400, 'http', 'bad body', 1, now(), null),
         ('product:5', 'product', '5', '{}', 'h5', 'new', 400, 'http', 'bad body', 1, now(), now())`,
    );

    const run = await runCli(['status', '--json'], env);
    expect(run.code).toBe(0);
    const status = oneJsonLine(run.stdout) as {
      outbox: { pending: number; oldestPendingSeconds: number };
      runs: { durationSeconds: number }[];
    };
    expect(Object.keys(status)).toEqual(['outbox', 'deadLetters', 'feed', 'runs']);
    const { rows } = await h.db.pool.query<{ started_at: Date; finished_at: Date }>(
      'select started_at, finished_at from rr_sync.runs order by id desc',
    );
    expect(rows).toHaveLength(3);
    expect(status).toEqual({
      outbox: { pending: 2, oldestPendingSeconds: expect.any(Number) },
      deadLetters: 2,
      feed: { version: published.version, offers: published.offers },
      runs: [
        {
          id: 3,
          kind: 'feed',
          trigger: 'schedule',
          status: 'skipped',
          startedAt: rows[0].started_at.toISOString(),
          durationSeconds: 0,
          exitCode: 0,
          error: null,
          reason: 'instance host-a:1:aaaaaa claimed this tick',
        },
        {
          id: 2,
          kind: 'feed',
          trigger: 'schedule',
          status: 'unchanged',
          startedAt: rows[1].started_at.toISOString(),
          durationSeconds: expect.any(Number),
          exitCode: 0,
          error: null,
          reason:
            'the catalog is the same as the published one: nothing published (ETag and Last-Modified stay)',
        },
        {
          id: 1,
          kind: 'feed',
          trigger: 'manual',
          status: 'published',
          startedAt: rows[2].started_at.toISOString(),
          durationSeconds: expect.any(Number),
          exitCode: 0,
          error: null,
          reason: null,
        },
      ],
    });
    // The age counts from the oldest pending row; seconds pass while the test runs, hence a bound.
    expect(status.outbox.oldestPendingSeconds).toBeGreaterThanOrEqual(120);
    expect(status.outbox.oldestPendingSeconds).toBeLessThan(180);
    for (const [i, r] of status.runs.entries()) {
      const ms = +rows[i].finished_at - +rows[i].started_at;
      expect(r.durationSeconds).toBeCloseTo(ms / 1000, 1);
    }
    await Promise.all([a.stop(), b.stop()]);
  });

  it('prints the same for people, and --runs limits the list', async () => {
    const run = await runCli(['status', '--runs', '1'], env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^feed: version \S+, \d+ offers$/);
    expect(lines.slice(1, 4)).toEqual([
      'outbox: 2 pending, oldest ' + lines[1].match(/oldest (\d+) s/)![1] + ' s',
      'dead letters: 2 open',
      'last runs (newest first):',
    ]);
    expect(lines.slice(4)).toEqual([
      expect.stringMatching(
        /^ {2}#3 feed schedule skipped started \S+ took 0\.0 s exit 0 \(instance host-a:1:aaaaaa claimed this tick\)$/,
      ),
    ]);
  });

  it('exits 2 on a bad --runs value and on an unknown flag, naming it', async () => {
    for (const value of ['0', '-1', 'ten', '1001']) {
      const run = await runCli(['status', `--runs=${value}`], env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--runs: must be a whole number from 1 to 1000 (got "${value}")`);
    }
    const run = await runCli(['status', '--limit', '3'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown (option|flag) '?--limit/i);
  });
});
