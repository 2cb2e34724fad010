import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './events.fixtures.ts';
import { createEventsHarness, FAULTS_OFF, type EventsHarness } from './events.harness.ts';

let h: EventsHarness;
const children: ChildProcess[] = [];
beforeAll(async () => {
  h = await createEventsHarness();
  await h.sync();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await h?.close();
});

/** Starts the child server; resolves with its URL once it listens. */
async function server(owner: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/events/events.child.ts'], {
    env: { ...h.env, SENDER_OWNER: owner, SENDER_LEASE_MS: '3000' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line && out.includes('\n')) resolve(JSON.parse(line).url);
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before listening`)));
  });
  return { child, url };
}

describe('kill -9 of the server while events stream in', () => {
  it('every event answered 202 reaches Retail Rocket after a restart', async () => {
    await h.reset();
    // Slow Retail Rocket: events pile up in the spool, so the kill finds some unsent.
    await h.faults({ delayMs: 150, paths: '/1.0/' });
    const first = await server('crash-a');
    const acceptedTx: string[] = [];
    let n = 0;
    let stop = false;
    const stream = (async () => {
      while (!stop) {
        const batch = Array.from({ length: 5 }, () => {
          n += 1;
          return {
            type: 'order',
            sessionExternalId: `k${n % 7}`,
            productId: 1,
            price: 10,
            quantity: 1,
            transaction: `T${n}`,
          };
        });
        try {
          const res = await fetch(`${first.url}/v1/events/batch`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(batch),
          });
          if (res.status === 202) acceptedTx.push(...batch.map((b) => b.transaction));
        } catch {
          return; // the server is gone
        }
      }
    })();
    await until(async () => acceptedTx.length >= 200 && (await h.events()).length > 0, 60_000);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    stop = true;
    await stream;
    const before = new Set((await h.events()).map((e) => String(e.body.transaction)));
    expect(acceptedTx.some((t) => !before.has(t))).toBe(true); // some were still spooled

    await h.faults(FAULTS_OFF);
    const second = await server('crash-b');
    try {
      await until(async () => {
        const got = new Set((await h.events()).map((e) => String(e.body.transaction)));
        return acceptedTx.every((t) => got.has(t));
      }, 60_000);
      await until(async () => (await h.spool()).length === 0, 30_000);
    } finally {
      second.child.kill('SIGTERM');
    }
  }, 180_000);
});
