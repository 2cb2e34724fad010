import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertNotifier, type AlertMessage } from '../../src/ops/alerts.notifier.ts';
import { alertVerdict, type AlertFigures, type AlertThresholds } from '../../src/ops/alerts.rules.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createOpsHarness } from './ops.harness.ts';

const T: AlertThresholds = {
  feedPullMaxAgeSeconds: 3 * 3600,
  feedMaxAgeSeconds: 26 * 3600,
  pendingMaxAgeSeconds: 3600,
  breakerOpenMaxSeconds: 600,
};
const healthy: AlertFigures = {
  feedPublished: true,
  lastPullAgeSeconds: 60,
  uptimeSeconds: 86_400,
  feedAgeSeconds: 3600,
  oldestPendingPushSeconds: 10,
  oldestPendingEventSeconds: null,
  deadLetters: 0,
  openBreakers: [],
};
const rules = (f: Partial<AlertFigures>) => alertVerdict({ ...healthy, ...f }, T).map((b) => b.rule);

describe('alertVerdict: each rule triggered and cleared', () => {
  it('passes a healthy service', () => expect(rules({})).toEqual([]));

  it('feed_not_pulled: no pull for 3 h; a fresh process waits 3 h for its first', () => {
    expect(rules({ lastPullAgeSeconds: 3 * 3600 })).toEqual([]);
    expect(rules({ lastPullAgeSeconds: 3 * 3600 + 1 })).toEqual(['feed_not_pulled']);
    expect(rules({ lastPullAgeSeconds: null, uptimeSeconds: 600 })).toEqual([]);
    expect(rules({ lastPullAgeSeconds: null, uptimeSeconds: 4 * 3600 })).toEqual(['feed_not_pulled']);
    expect(alertVerdict({ ...healthy, lastPullAgeSeconds: 4 * 3600 }, T)[0]!.message).toBe(
      'the feed was last pulled 4h ago (ALERT_FEED_PULL_MAX_AGE 3h)',
    );
  });

  it('feed_stale: the last successful feed older than 26 h, or none published; not judged without the history', () => {
    expect(rules({ feedAgeSeconds: 26 * 3600 + 1 })).toEqual(['feed_stale']);
    expect(rules({ feedAgeSeconds: null })).toEqual([]);
    expect(rules({ feedPublished: false, lastPullAgeSeconds: null })).toEqual(['feed_stale']);
  });

  it('pending_too_old: the oldest pending push or event older than 1 h', () => {
    expect(rules({ oldestPendingPushSeconds: 3601 })).toEqual(['pending_too_old']);
    expect(rules({ oldestPendingEventSeconds: 3601 })).toEqual(['pending_too_old']);
    expect(rules({ oldestPendingPushSeconds: 3600, oldestPendingEventSeconds: 3600 })).toEqual([]);
  });

  it('dead_letters: any', () => {
    expect(rules({ deadLetters: 1 })).toEqual(['dead_letters']);
    expect(rules({ deadLetters: null })).toEqual([]);
  });

  it('breaker_open: open for 10 min', () => {
    expect(rules({ openBreakers: [{ name: 'recommendations', seconds: 600 }] })).toEqual([]);
    expect(rules({ openBreakers: [{ name: 'recommendations', seconds: 601 }] })).toEqual(['breaker_open']);
  });
});

/** A local webhook receiver that answers with the statuses it is given, then 200. */
function startReceiver() {
  const messages: AlertMessage[] = [];
  const failFirst: number[] = [];
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = failFirst.shift() ?? 200;
      if (status === 200) messages.push(JSON.parse(body) as AlertMessage);
      res.writeHead(status).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  return new Promise<{
    url: string;
    messages: AlertMessage[];
    failFirst: number[];
    next(): Promise<void>;
    close(): Promise<void>;
  }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/secret-path`,
        messages,
        failFirst,
        next: () => new Promise<void>((r) => waiters.push(r)),
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  );
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver?.close());

describe('alert webhook', () => {
  it('posts exactly one message per transition, retries a failed one, and at most one per rule per interval', async () => {
    receiver.messages.length = 0;
    let now = Date.parse('2026-12-01T10:00:00Z');
    const notifier = createAlertNotifier({
      url: receiver.url,
      logger: silentLogger,
      now: () => now,
      minIntervalMs: 60_000,
      backoff: { baseMs: 5, maxMs: 20 },
    });
    const dead = [{ rule: 'dead_letters' as const, message: '1 dead letter' }];
    receiver.failFirst.push(500, 503); // the first message needs two retries
    notifier.update(dead);
    notifier.update(dead); // still broken: nothing new
    await notifier.idle();
    expect(receiver.messages.map((m) => [m.rule, m.state])).toEqual([['dead_letters', 'firing']]);
    expect(receiver.messages[0]).toMatchObject({ service: 'rr-catalog-sync', message: '1 dead letter' });

    // Cleared 10 s later: within the interval, so it waits; fired again before the interval ends: dropped.
    now += 10_000;
    notifier.update([]);
    now += 10_000;
    notifier.update(dead);
    await new Promise((r) => setTimeout(r, 50));
    await notifier.idle();
    expect(receiver.messages).toHaveLength(1);

    // Cleared for good: the 'resolved' goes once the interval since the 'firing' is over.
    now += 10_000;
    notifier.update([]);
    await notifier.idle();
    expect(receiver.messages).toHaveLength(1);
    now += 30_001;
    notifier.update([]);
    notifier.update([]);
    await notifier.idle();
    expect(receiver.messages.map((m) => [m.rule, m.state])).toEqual([
      ['dead_letters', 'firing'],
      ['dead_letters', 'resolved'],
    ]);
    notifier.close();
  });
});

describe('freshness alerts in the app', () => {
  it('a broken rule makes /healthz 503 with the reasons, sets rr_sync_alert, and posts start and clear once each', async () => {
    receiver.messages.length = 0;
    const t = await createOpsHarness(
      { ALERT_WEBHOOK_URL: receiver.url, ALERT_PENDING_MAX_AGE: '60s' },
      { ops: { alertEveryMs: 3_600_000, notifier: { minIntervalMs: 0 } } },
    );
    try {
      await t.feed();
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      const id = await t.addDeadLetter('101');
      await t.h.db.pool.query(
        `insert into rr_sync.outbox (key, kind, item_id, body, hash, change, enqueued_at)
         values ('product:102', 'product', '102', '{}', 'h', 'changed', now() - interval '2 minutes')`,
      );
      const firing = receiver.next();
      const res = await fetch(`${t.url}/healthz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; alerts: { rule: string; message: string }[] };
      expect(body.status).toBe('alert');
      expect(body.alerts.map((a) => a.rule).sort()).toEqual(['dead_letters', 'pending_too_old']);
      await firing;
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toContain('rr_sync_alert{rule="dead_letters"} 1');
      expect(metrics).toContain('rr_sync_alert{rule="pending_too_old"} 1');

      await t.h.db.pool.query('update rr_sync.dead_letters set requeued_at = now() where id = $1', [id]);
      await t.h.db.pool.query('delete from rr_sync.outbox');
      expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
      await fetch(`${t.url}/healthz`);
      await new Promise((r) => setTimeout(r, 200));
      // The app started before any feed was published: feed_stale fired, and cleared with the feed.
      expect(receiver.messages.map((m) => `${m.rule} ${m.state}`).sort()).toEqual([
        'dead_letters firing',
        'dead_letters resolved',
        'feed_stale firing',
        'feed_stale resolved',
        'pending_too_old firing',
        'pending_too_old resolved',
      ]);
    } finally {
      await t.close();
    }
  });
});
