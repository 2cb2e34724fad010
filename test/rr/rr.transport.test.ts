import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { rrConfig } from './rr.helpers.ts';
import { reply, startTestServer, testTls, type TestServer } from './rr.servers.ts';

let server: TestServer | undefined;
let client: RetailRocketClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

const recs = (c: RetailRocketClient, visitor = 'v1') =>
  c.recommendations.get('partnerRecommendations/popular', { sessionExternalId: visitor });

async function serveRecs(kind: 'h2' | 'https1' | 'http1', delayMs = 0) {
  server = await startTestServer(kind, async (_req, res) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    reply(res, 200, { recommendations: [{ productId: 1 }] });
  });
  const { caFile } = await testTls();
  // A generous deadline: these tests are about the transport, not the deadline (tested below), and
  // must not fail because a loaded test machine answered a call in 600 ms.
  client = createRetailRocketClient(
    rrConfig(server.url, { caFile, recommendationCacheEntries: 0, timeoutMs: 10_000 }),
    { logger: silentLogger },
  );
  return { server, client };
}

describe('transport over real sockets', () => {
  it('multiplexes 50 concurrent calls to an HTTP/2 origin over one TLS connection', async () => {
    const { server, client } = await serveRecs('h2', 20);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => recs(client, `v${i}`)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.connections()).toBe(1);
    expect(client.protocolOf(server.url)).toBe('h2');
  });

  it('runs concurrent POST events side by side on the one HTTP/2 connection', async () => {
    let current = 0;
    let most = 0;
    server = await startTestServer('h2', async (_req, res) => {
      most = Math.max(most, ++current);
      await new Promise((r) => setTimeout(r, 30));
      current--;
      reply(res, 200, {});
    });
    const { caFile } = await testTls();
    client = createRetailRocketClient(rrConfig(server.url, { caFile, timeoutMs: 10_000 }), {
      logger: silentLogger,
    });
    const c = client;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.events.view({ sessionExternalId: `v${i}`, productId: i + 1 })),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(server.connections()).toBe(1);
    expect(most).toBeGreaterThan(10);
  });

  it('falls back to an HTTP/1.1 keep-alive pool when the TLS origin does not offer h2', async () => {
    const { server, client } = await serveRecs('https1', 20);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => recs(client, `v${i}`)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(client.protocolOf(server.url)).toBe('http/1.1');
    expect(server.connections()).toBeGreaterThan(1);
    const before = server.connections();
    for (let i = 0; i < 5; i++) expect((await recs(client)).ok).toBe(true);
    expect(server.connections()).toBeLessThanOrEqual(before + 1);
  });

  it('reuses one kept-alive connection for sequential calls to a plain http:// origin', async () => {
    const { server, client } = await serveRecs('http1');
    for (let i = 0; i < 10; i++) expect((await recs(client)).ok).toBe(true);
    // undici may open a second socket when a response ends a tick before its socket is free.
    expect(server.connections()).toBeLessThanOrEqual(2);
    expect(client.protocolOf(server.url)).toBe('http/1.1');
  });

  it('trusts the CA of RR_CA_FILE and refuses the same server without it', async () => {
    const { server } = await serveRecs('h2');
    const untrusting = createRetailRocketClient(
      rrConfig(server.url, { recommendationCacheEntries: 0, timeoutMs: 10_000 }),
      { logger: silentLogger },
    );
    const refused = await recs(untrusting);
    await untrusting.close();
    expect(refused).toMatchObject({ ok: false, error: { kind: 'network', retryable: false } });
    if (!refused.ok) expect(refused.error.code).toMatch(/CERT|SIGNED/);
    expect((await recs(client!)).ok).toBe(true);
  });

  it('gives up at the deadline on a slow server and answers a typed timeout', async () => {
    const { client } = await serveRecs('h2', 2000);
    const started = performance.now();
    const res = await client.recommendations.get(
      'partnerRecommendations/popular',
      { sessionExternalId: 'slow' },
      { timeoutMs: 150 },
    );
    const took = performance.now() - started;
    expect(res).toMatchObject({ ok: false, error: { kind: 'timeout', retryable: true } });
    // It did not wait for the server's 2 s answer (the exact bound is bench:client's to measure).
    expect(took).toBeLessThan(1000);
  });

  it('also gives up when the headers came in time but the body does not finish', async () => {
    server = await startTestServer('h2', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      (res as ServerResponse).write('{"recommendations":[');
    });
    const { caFile } = await testTls();
    client = createRetailRocketClient(rrConfig(server.url, { caFile, recommendationCacheEntries: 0 }), {
      logger: silentLogger,
    });
    const started = performance.now();
    const res = await client.recommendations.get(
      'partnerRecommendations/popular',
      { sessionExternalId: 'trickle' },
      { timeoutMs: 150 },
    );
    expect(res).toMatchObject({ ok: false, error: { kind: 'timeout' } });
    // The body never ends: without the deadline the call would hang until the test's timeout.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('answers a recommendation call at once while 40 bulk product pushes wait for the rate limit', async () => {
    const seen: string[] = [];
    server = await startTestServer('h2', (req, res) => {
      seen.push(req.url!.includes('/products/') ? 'bulk' : 'interactive');
      reply(res, 200, req.url!.includes('/products/') ? undefined : { recommendations: [] });
    });
    const { caFile } = await testTls();
    // 100/s: a bucket of 10 with 2 tokens that only interactive calls may take.
    client = createRetailRocketClient(rrConfig(server.url, { caFile, rateLimit: 100 }), {
      logger: silentLogger,
    });
    const c = client;
    const pushes = Array.from({ length: 40 }, (_, i) =>
      c.products.upsert({
        id: i + 1,
        name: `P${i + 1}`,
        price: 1,
        url: `https://shop.example/p/${i + 1}`,
        pictureUrl: `https://shop.example/i/${i + 1}.jpg`,
        isAvailable: true,
        categoryPaths: ['A'],
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const before = seen.length;
    const recs = await c.recommendations.get('partnerRecommendations/popular', {
      sessionExternalId: 'shopper',
    });
    const bulkWhenAnswered = seen.filter((x) => x === 'bulk').length;
    expect(recs.ok).toBe(true);
    expect(before).toBeLessThan(40);
    // The interactive call went ahead of the queued pushes instead of waiting behind them.
    expect(bulkWhenAnswered).toBeLessThan(40);
    expect((await Promise.all(pushes)).every((r) => r.ok)).toBe(true);
    expect(seen.filter((s) => s === 'bulk')).toHaveLength(40);
    // Pushes queued before it reached the server after it.
    expect(seen.indexOf('interactive')).toBeLessThan(seen.lastIndexOf('bulk'));
  });
});
