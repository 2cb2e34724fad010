import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminFetch, createOpsHarness, type OpsHarness } from './ops.harness.ts';

// The operator surface holds database connections (status page, /metrics, /admin): when
// PostgreSQL goes away it must keep answering with what it has and say what is missing, never
// crash the process or hang.
let t: OpsHarness;
let gone: pg.Pool;
beforeAll(async () => {
  t = await createOpsHarness({}, { connect: false });
  await t.feed();
  // A server that refuses every connection: port 1 on loopback has no listener.
  gone = new pg.Pool({
    connectionString: 'postgres://postgres@127.0.0.1:1/none',
    connectionTimeoutMillis: 500,
  });
  gone.on('error', () => undefined);
  t.app.ops.connect({ catalog: gone, state: gone });
});
afterAll(async () => {
  await gone?.end();
  await t?.close();
});

describe('operator surface without its database', () => {
  it('still serves the page, /metrics and /healthz from what it has', async () => {
    const page = await adminFetch(`${t.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Published feed');
    const metrics = await adminFetch(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('rr_sync_feed_offers 6');
    const health = await fetch(`${t.url}/healthz`);
    expect([200, 503]).toContain(health.status);
  });

  it('answers an action that needs the database with a clear 5xx, not a hang or a crash', async () => {
    const res = await adminFetch(`${t.url}/admin/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'feed' }),
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/\S/);
    expect(body.error.message).not.toContain('postgres://');
    // The process is still up and serving.
    expect((await fetch(`${t.url}/feeds/catalog.xml`)).status).toBe(200);
  });
});
