import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../feed/feed.harness.ts';
import {
  API_KEY,
  catalogItems,
  createPushHarness,
  deadLetterRows,
  enqueueAll,
  expectedPushes,
  outboxCount,
  productItem,
  productPath,
  type PushHarness,
} from './push.harness.ts';

let h: PushHarness;
beforeAll(async () => {
  h = await createPushHarness();
});
beforeEach(() => h.reset());
afterAll(() => h?.close());

const oneJsonLine = (stdout: string) => {
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!);
};

describe('rr-sync push', () => {
  it('drains the outbox and prints one JSON line with pushed, deadLetters and pending', async () => {
    const items = catalogItems(30);
    await enqueueAll(h, items);
    const run = await runCli(['push', '--json'], h.env);

    expect(run.code).toBe(0);
    expect(oneJsonLine(run.stdout)).toMatchObject({
      ok: true,
      pushed: items.length,
      deadLetters: 0,
      pending: 0,
      unreachable: false,
    });
    expect(await h.pushes()).toEqual(expectedPushes(items));
  });

  it('prints a one-line summary without --json', async () => {
    await enqueueAll(h, [productItem(1), productItem(2)]);
    const run = await runCli(['push'], h.env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^push drained: 2 pushed, 0 dead letters, 0 pending, \d+\.\d s\n$/);
  });

  it('exits 4 with upstream.unreachable when Retail Rocket cannot be reached; the items stay', async () => {
    await enqueueAll(h, [productItem(1), productItem(2), productItem(3)]);
    const env = { ...h.env, RR_PRODUCT_API_URL: 'http://127.0.0.1:9/api/1.0/' };
    const run = await runCli(['push', '--json', '--wait', '30'], env);

    expect(run.code).toBe(4);
    expect(oneJsonLine(run.stdout)).toMatchObject({
      ok: false,
      pushed: 0,
      pending: 3,
      unreachable: true,
      error: { code: 'upstream.unreachable' },
    });
    expect(run.stderr).toContain('Retail Rocket could not be reached');
    expect(run.stdout + run.stderr).not.toContain(API_KEY);
    expect(await outboxCount(h)).toBe(3);
  });

  it.each([[['push', '--bogus']], [['dead-letters', '--force']]])(
    'refuses unknown flags with exit 2: %j',
    async (argv) => {
      const run = await runCli(argv, h.env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`unknown flag ${argv[1]}`);
    },
  );

  it.each([
    ['RR_PUSH_RATE', '0'],
    ['RR_PUSH_RATE', 'fast'],
    ['RR_PUSH_MAX_ATTEMPTS', '0'],
  ])('exits 2 naming %s=%s', async (name, value) => {
    const run = await runCli(['push', '--json'], { ...h.env, [name]: value });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(name);
    expect(oneJsonLine(run.stdout)).toMatchObject({ ok: false, error: { code: 'config.invalid' } });
  });

  it('exits 2 naming RR_PARTNER_ID and RR_API_KEY when they are missing', async () => {
    const env = { ...h.env };
    delete (env as Record<string, string | undefined>).RR_PARTNER_ID;
    delete (env as Record<string, string | undefined>).RR_API_KEY;
    const run = await runCli(['push'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('RR_PARTNER_ID and RR_API_KEY');
  });

  it('exits 2 naming --wait when it is not a number of seconds', async () => {
    const run = await runCli(['push', '--wait', 'soon'], h.env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--wait');
  });
});

describe('rr-sync dead-letters', () => {
  it('lists a 400 with its reason, --requeue puts it back, and the next push delivers it', async () => {
    const path = productPath(4242);
    await h.faults({ forcedStatus: 400, paths: path });
    await enqueueAll(h, [productItem(4242), productItem(5)]);
    const pushed = await runCli(['push', '--json'], h.env);
    expect(oneJsonLine(pushed.stdout)).toMatchObject({ ok: true, pushed: 1, deadLetters: 1, pending: 0 });

    const listed = oneJsonLine((await runCli(['dead-letters', '--json'], h.env)).stdout);
    expect(listed).toMatchObject({
      ok: true,
      open: 1,
      deadLetters: [
        {
          key: 'product:4242',
          status: 400,
          errorKind: 'http',
          attempts: 1,
          reason: expect.stringMatching(/^Retail Rocket answered 400/),
          failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        },
      ],
    });
    const human = await runCli(['dead-letters'], h.env);
    expect(human.stdout).toMatch(/^product:4242\t400\thttp\t1 attempts\t\S+\tRetail Rocket answered 400/);
    expect(human.stdout).toContain('1 open dead letters');

    await h.faults({ forcedStatus: null, paths: '' });
    const requeue = await runCli(['dead-letters', '--requeue', '--json'], h.env);
    expect(oneJsonLine(requeue.stdout)).toMatchObject({ ok: true, open: 1, requeued: 1, superseded: 0 });
    expect((await h.db.pool.query('select key, change from rr_sync.outbox')).rows).toEqual([
      { key: 'product:4242', change: 'requeued' },
    ]);
    expect((await runCli(['push', '--json'], h.env)).code).toBe(0);

    expect((await h.pushes())['product:4242']).toEqual(productItem(4242).body);
    expect(await deadLetterRows(h)).toEqual([
      expect.objectContaining({ key: 'product:4242', requeued_at: expect.any(Date) }),
    ]);
    expect(oneJsonLine((await runCli(['dead-letters', '--json'], h.env)).stdout)).toMatchObject({
      open: 0,
      deadLetters: [],
    });
  });
});
