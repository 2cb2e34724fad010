import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  catalogItems,
  createPushHarness,
  deadLetterRows,
  enqueueAll,
  expectedPushes,
  outboxCount,
  type PushHarness,
} from './push.harness.ts';

let h: PushHarness;
let child: ChildProcess | undefined;
beforeAll(async () => {
  h = await createPushHarness();
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await h?.close();
});

function push(args: string[]): ChildProcess {
  return spawn(process.execPath, ['src/cli/rr-sync.js', 'push', ...args], {
    env: h.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('rr-sync push killed with SIGKILL mid-drain', () => {
  it('loses nothing: a restart pushes the rest, the outbox ends empty, no dead letters', async () => {
    const items = catalogItems(2960); // 4993 records: products, stocks and groups
    await enqueueAll(h, items);

    child = push([]);
    const deadline = Date.now() + 120_000;
    // Kill once a good part (but not all) has reached the emulator.
    while ((await h.calls()).length < 1200) {
      if (child.exitCode !== null)
        throw new Error(`push ended (exit ${child.exitCode}) before it was killed`);
      if (Date.now() > deadline) throw new Error('push made no progress');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(child.signalCode).toBe('SIGKILL');
    const left = await outboxCount(h);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(items.length);

    // The dead process's leases must run out before its rows are claimable again: --wait covers it.
    child = push(['--json', '--wait', '120']);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, deadLetters: 0, pending: 0, unreachable: false });

    expect(await h.pushes()).toEqual(expectedPushes(items));
    expect(await outboxCount(h)).toBe(0);
    expect(await deadLetterRows(h)).toEqual([]);
    const pushed = await h.db.pool.query<{ n: number }>('select count(*)::int as n from rr_sync.pushed');
    expect(pushed.rows[0]!.n).toBe(items.length);
  }, 300_000);
});
