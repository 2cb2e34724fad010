import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireJobLock } from '../../src/db/locks.ts';
import { insertRun, finishRun } from '../../src/runs/runs.history.ts';
import { feedLocksHeld } from '../../src/scheduler/scheduler.ticks.ts';
import { captureLogger } from '../server/http.fixture.ts';
import { ADMIN_TOKEN, adminFetch, createOpsHarness, storeProducts, type OpsHarness } from './ops.harness.ts';

const logs = captureLogger();
let t: OpsHarness;
let v1: string;
let v2: string;
beforeAll(async () => {
  t = await createOpsHarness({}, { logger: logs.logger });
  v1 = (await t.feed()).version!;
  await t.setProducts(storeProducts(7));
  v2 = (await t.feed()).version!;
});
afterAll(() => t?.close());

const post = (path: string, body: unknown, init: Parameters<typeof adminFetch>[1] = {}) =>
  adminFetch(`${t.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  });

const servedVersion = async () =>
  ((await (await fetch(`${t.url}/healthz`)).json()) as { feed: { version: string } }).feed.version;

describe('/admin', () => {
  it('answers a wrong or missing token with 401 and logs nothing of it', async () => {
    const wrong = 'wrong-token-WRONG-0123456789';
    for (const res of [
      await adminFetch(`${t.url}/admin/status`, { token: wrong }),
      await adminFetch(`${t.url}/admin/status`, { token: null }),
      await post('/admin/runs', { kind: 'feed' }, { token: wrong }),
      await fetch(`${t.url}/login`, {
        method: 'POST',
        body: new URLSearchParams({ token: wrong }),
        redirect: 'manual',
      }),
    ])
      expect(res.status).toBe(401);
    const logged = JSON.stringify(logs.lines);
    expect(logged).not.toContain(wrong);
    expect(logged).not.toContain(ADMIN_TOKEN);
  });

  it('starts a feed run now, recorded with trigger admin and who; 409 with the running run while the lock is held', async () => {
    const res = await post('/admin/runs', { kind: 'feed' });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: number };
    // The run releases its lock after recording its end.
    await expect.poll(() => feedLocksHeld(t.h.db.pool), { timeout: 20_000 }).toBe(false);
    const { rows } = await t.h.db.pool.query('select kind, trigger, actor from rr_sync.runs where id = $1', [
      runId,
    ]);
    expect(rows[0]).toEqual({ kind: 'feed', trigger: 'admin', actor: 'bearer' });

    const lock = await acquireJobLock(t.h.db.pool, 'feed');
    const held = await insertRun(t.h.db.pool, 'sync', 'schedule');
    try {
      for (const [path, body] of [
        ['/admin/runs', { kind: 'sync' }],
        ['/admin/feed/rollback', { version: v1 }],
      ] as const) {
        const busy = await post(path, body);
        expect(busy.status).toBe(409);
        const answer = (await busy.json()) as {
          error: { code: string };
          running: { id: number; kind: string };
        };
        expect(answer.error.code).toBe('job.already_running');
        expect(answer.running).toMatchObject({ id: held, kind: 'sync' });
      }
    } finally {
      await finishRun(t.h.db.pool, held, {
        status: 'failed',
        exitCode: 1,
        summary: null,
        report: null,
        error: 'test',
      });
      await lock.release();
    }
  });

  it('rolls the served feed back to a kept version and forward again, recorded in the history; unknown version 404', async () => {
    expect(await servedVersion()).toBe(v2);
    const versions = (await (await adminFetch(`${t.url}/admin/feed/versions`)).json()) as {
      current: string;
      versions: { version: string }[];
    };
    expect(versions.versions.map((v) => v.version)).toEqual([v2, v1]);

    const back = await post('/admin/feed/rollback', { version: v1 });
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ from: v2, to: v1 });
    expect(await servedVersion()).toBe(v1);
    const xml = await (await fetch(`${t.url}/feeds/catalog.xml`)).text();
    expect(xml).not.toContain('<offer id="106"');

    expect((await post('/admin/feed/rollback', { version: v2 })).status).toBe(200);
    expect(await servedVersion()).toBe(v2);

    for (const version of ['20990101T000000Z-000000000000', '../../etc', '']) {
      const res = await post('/admin/feed/rollback', { version });
      expect(res.status, version).toBe(version === '' ? 400 : 404);
    }
    const { rows } = await t.h.db.pool.query(
      `select status, actor, summary->>'from' as "from", summary->>'to' as "to" from rr_sync.runs
        where kind = 'rollback' order by id`,
    );
    expect(rows).toEqual([
      { status: 'activated', actor: 'bearer', from: v2, to: v1 },
      { status: 'activated', actor: 'bearer', from: v1, to: v2 },
    ]);
  });

  it('requeues one dead letter or all', async () => {
    const a = await t.addDeadLetter('101');
    const b = await t.addDeadLetter('102');
    const one = await post('/admin/dead-letters/requeue', { ids: [a] });
    expect(await one.json()).toMatchObject({ requeued: 1, superseded: 0 });
    const { rows } = await t.h.db.pool.query(
      'select id::text from rr_sync.dead_letters where requeued_at is null',
    );
    expect(rows).toEqual([{ id: b }]);
    expect((await post('/admin/dead-letters/requeue', { ids: ['x'] })).status).toBe(400);
    expect(await (await post('/admin/dead-letters/requeue', {})).json()).toMatchObject({
      requeued: 1,
      superseded: 0,
    });
    const outbox = await t.h.db.pool.query(
      "select key from rr_sync.outbox where key like 'product:10_' order by key",
    );
    expect(outbox.rows.map((r) => r.key)).toContain('product:101');
  });
});

describe('browser sessions and CSRF', () => {
  async function login(headers: Record<string, string> = {}) {
    const res = await fetch(`${t.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: 'manual',
      headers,
    });
    expect(res.status).toBe(303);
    return res.headers.get('set-cookie')!;
  }

  it('sets an HttpOnly, SameSite=Strict cookie (Secure behind TLS) whose id is stored only hashed', async () => {
    const cookie = await login();
    expect(cookie).toMatch(
      /^rr_sync_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/,
    );
    const value = cookie.split(';')[0]!.split('=')[1]!;
    const { rows } = await t.h.db.pool.query('select id_hash from rr_sync.admin_sessions');
    expect(rows.map((r) => r.id_hash)).toContain(createHash('sha256').update(value).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(value);
    expect(await login({ 'x-forwarded-proto': 'https' })).toMatch(/; Secure$/);
  });

  it('refuses a form without or with a wrong CSRF token (403), accepts the right one', async () => {
    const cookie = (await login()).split(';')[0]!;
    const page = await (await fetch(`${t.url}/`, { headers: { cookie } })).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
    const form = (body: Record<string, string>) =>
      fetch(`${t.url}/actions/feed/activate`, {
        method: 'POST',
        body: new URLSearchParams(body),
        headers: { cookie },
        redirect: 'manual',
      });
    expect((await form({ version: v1 })).status).toBe(403);
    expect((await form({ version: v1, csrf: 'nope' })).status).toBe(403);
    expect(await servedVersion()).toBe(v2);
    const ok = await form({ version: v1, csrf });
    expect(ok.status).toBe(303);
    expect(await servedVersion()).toBe(v1);
    expect((await form({ version: v2, csrf })).status).toBe(303);
    const { rows } = await t.h.db.pool.query(
      "select actor from rr_sync.runs where kind = 'rollback' order by id desc limit 1",
    );
    expect(rows[0].actor).toMatch(/^session [0-9a-f]{8}$/);
    // A session on /admin must send JSON: a cross-site form cannot.
    const plain = await fetch(`${t.url}/admin/runs`, {
      method: 'POST',
      body: 'kind=feed',
      headers: { cookie },
    });
    expect(plain.status).toBe(403);
  });
});

describe('without ADMIN_TOKEN', () => {
  it('answers loopback clients only, and not a request a proxy forwarded', async () => {
    const open = await createOpsHarness({ ADMIN_TOKEN: '' });
    try {
      const page = await fetch(`${open.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(
        'ADMIN_TOKEN is not set: this page answers clients on this machine only.',
      );
      const proxied = await fetch(`${open.url}/admin/status`, {
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
      expect(proxied.status).toBe(403);
      expect(((await proxied.json()) as { error: { code: string } }).error.code).toBe('auth.loopback_only');
    } finally {
      await open.close();
    }
  });
});
