import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let feedsDir: string;

beforeAll(async () => {
  db = await createTestDatabase();
  feedsDir = await mkdtemp(path.join(os.tmpdir(), 'rr-stdio-feeds-'));
});
afterAll(async () => {
  await db?.drop();
  await rm(feedsDir, { recursive: true, force: true });
});

describe('rr-sync serve whose stdout and stderr readers went away', () => {
  it('keeps serving and storing events, and stops cleanly (exit 0) instead of dying of EPIPE', async () => {
    const child = spawn(process.execPath, ['src/cli/rr-sync.js', 'serve'], {
      // debug: every request and the shutdown write log lines to the closed stderr.
      env: { ...process.env, DATABASE_URL: db.url, FEEDS_DIR: feedsDir, PORT: '0', LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = once(child, 'exit');
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /^serving (\S+)/m.exec(out);
        if (m) resolve(m[1]!.replace('localhost', '127.0.0.1'));
      });
      void exit.then(([code]) => reject(new Error(`serve exited with ${String(code)}`)));
    });
    // `rr-sync serve | head -1`: the reader of both pipes is gone.
    child.stdout.destroy();
    child.stderr.destroy();

    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/v1/events/view`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sessionExternalId: `v${i}`, productId: 7 }),
      });
      expect(res.status).toBe(202);
    }
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from rr_sync.event_spool');
    expect(rows[0]!.n).toBe(3);

    child.kill('SIGTERM');
    const [code, signal] = await exit;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 60_000);
});
