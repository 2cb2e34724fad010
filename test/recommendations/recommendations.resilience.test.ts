import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { directIndex } from '../../src/catalog-index/catalog-index.cache.ts';
import type { RecommendationAnswer, RecommendationService } from '../../src/recommendations/index.ts';
import { expectSound, RR_CATALOG, STORE } from './recs.fixture.ts';
import { createRecsHarness, type RecsHarness } from './recs.harness.ts';

/**
 * Retail Rocket slow, failing or refusing: every answer still comes within the one deadline
 * (RR_TIMEOUT_MS, 500 ms here as in production), from the fallback, and the breaker keeps later
 * requests from waiting at all.
 *
 * The rule is "within deadline + 10 ms". Measured two ways:
 * - around service.get (what the service controls): deadline + 10 ms, plus SERVICE_MARGIN_MS for
 *   a timer firing late on a loaded machine (measured: 424–461 ms, the call is cut at ~425);
 * - over HTTP from the test's own client, which shares one event loop with the server and the
 *   emulator on a two-core machine that other test files (and other work: load average 6–7
 *   seen) keep busy: HTTP_MARGIN_MS more (measured: 450–576 ms for 20 concurrent requests).
 * The figure under real load is for `npm run bench:api`.
 */
const DEADLINE_MS = 500;
const RULE_MS = DEADLINE_MS + 10;
const SERVICE_MARGIN_MS = 25;
const HTTP_MARGIN_MS = 150;

let r: RecsHarness;

beforeAll(async () => {
  r = await createRecsHarness(RR_CATALOG);
  await r.sync(STORE);
  for (const id of [3, 1, 4]) {
    await r.track('order', {
      sessionExternalId: 'buyer',
      productId: id,
      price: 10,
      quantity: 1,
      transaction: 'T1',
    });
  }
}, 60_000);
afterAll(async () => {
  await r?.close();
});
afterEach(async () => {
  await r.faults({ delayMs: 0, forcedStatus: null });
});

/** One request over HTTP, timed from the client side (so the server's own overhead counts too). */
async function timed(url: string): Promise<{ ms: number; answer: RecommendationAnswer }> {
  const started = performance.now();
  const res = await fetch(url);
  const answer = (await res.json()) as RecommendationAnswer;
  const ms = performance.now() - started;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return { ms, answer };
}

/** The service with the duration of each get() recorded. */
function timedService<T extends { service: RecommendationService }>(s: T): T & { serviceMs: number[] } {
  const serviceMs: number[] = [];
  const inner = s.service;
  const get = async (resource: string, params: Readonly<Record<string, unknown>>) => {
    const t = performance.now();
    try {
      return await inner.get(resource, params);
    } finally {
      serviceMs.push(performance.now() - t);
    }
  };
  return { ...s, service: { ...inner, get: get as RecommendationService['get'] }, serviceMs };
}

const RELATED =
  '/v1/recommendations/productRecommendations/related?productIds=3&sessionExternalId=v1&stockId=north';
const POPULAR = '/v1/recommendations/partnerRecommendations/popular?sessionExternalId=v1&stockId=north';

describe('Retail Rocket stalled (every call delayed 2 s)', () => {
  it('answers every request within the deadline, from the fallback; concurrent ones too', async () => {
    const { service: inner } = r.service({ options: { breaker: { failureThreshold: 1000 } } });
    const serviceMs: number[] = [];
    const service = {
      ...inner,
      get: (async (res: string, p: Record<string, unknown>) => {
        const t = performance.now();
        try {
          return await inner.get(res, p);
        } finally {
          serviceMs.push(performance.now() - t);
        }
      }) as typeof inner.get,
    };
    const app = await r.app(service);
    // Twenty connections open first: their set-up is the test client's time, not the service's.
    const warm = `${app.url}/v1/recommendations/partnerRecommendations/popular?sessionExternalId=warm`;
    await Promise.all(Array.from({ length: 20 }, () => timed(warm)));
    serviceMs.length = 0;
    await r.faults({ delayMs: 2000 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        timed(`${app.url}${i % 2 ? RELATED : POPULAR}&limit=${1 + (i % 10)}`.replace('v1&', `v${i}&`)),
      ),
    );
    expect(serviceMs).toHaveLength(20);
    for (const ms of serviceMs) expect(ms).toBeLessThanOrEqual(RULE_MS + SERVICE_MARGIN_MS);
    for (const [i, { ms, answer }] of answers.entries()) {
      expect(ms).toBeLessThanOrEqual(RULE_MS + HTTP_MARGIN_MS);
      expect(answer).toMatchObject({ source: 'fallback', reason: 'upstream_timeout' });
      expect(answer.items.length).toBeGreaterThan(0);
      await expectSound(r.h.db.pool, answer, 'north', i % 2 ? ['3'] : []);
    }
    if (process.env.RECS_TIMINGS)
      console.log(
        'stalled: max ms',
        Math.max(...answers.map((a) => a.ms)),
        'service',
        serviceMs.map(Math.round),
      );
  });

  it('the breaker opens after the threshold, answers at once without calling, probes after the cool-down and closes', async () => {
    const coolDownMs = 600;
    const { service, serviceMs, upstreamCalls } = timedService(
      r.service({ options: { breaker: { failureThreshold: 3, windowMs: 30_000, coolDownMs } } }),
    );
    const app = await r.app(service);
    await r.faults({ delayMs: 2000 });
    for (let i = 0; i < 3; i += 1) {
      const { ms, answer } = await timed(`${app.url}${RELATED}`);
      expect(ms).toBeLessThanOrEqual(RULE_MS + HTTP_MARGIN_MS);
      expect(serviceMs.at(-1)).toBeLessThanOrEqual(RULE_MS + SERVICE_MARGIN_MS);
      expect(answer).toMatchObject({ source: 'fallback', reason: 'upstream_timeout' });
    }
    expect(upstreamCalls()).toBe(3);
    expect(service.breakerStates()).toMatchObject({
      productRecommendations: { state: 'open', opened: 1 },
      partnerRecommendations: { state: 'closed' },
    });

    // Open: no call, no wait for it.
    const open = await timed(`${app.url}${RELATED}`);
    expect(open.answer).toMatchObject({ source: 'fallback', reason: 'circuit_open' });
    expect(open.answer.items.length).toBeGreaterThan(0);
    expect(open.ms).toBeLessThanOrEqual(RULE_MS + HTTP_MARGIN_MS);
    expect(serviceMs.at(-1)).toBeLessThanOrEqual(RULE_MS + SERVICE_MARGIN_MS);
    expect(upstreamCalls()).toBe(3);

    // Retail Rocket recovers; after the cool-down one probe goes through, and closes the breaker.
    await r.faults({ delayMs: 0 });
    await sleep(coolDownMs);
    const probe = await timed(`${app.url}${RELATED}`);
    expect(probe.answer.source).toBe('retailrocket');
    expect(upstreamCalls()).toBe(4);
    expect(service.breakerStates().productRecommendations).toMatchObject({ state: 'closed', failures: 0 });
    expect(service.counts()).toMatchObject({
      bySource: { fallback: 4, retailrocket: 1 },
      byReason: { upstream_timeout: 3, circuit_open: 1 },
    });
  });

  it('a timeout of a call left less than half its time by a slow index says nothing of Retail Rocket', async () => {
    const direct = directIndex(r.h.db.pool);
    const { service, upstreamCalls } = r.service({
      options: { breaker: { failureThreshold: 1, coolDownMs: 60_000 } },
      // Our own id check takes 300 of the 500 ms: the call gets what is left minus the reserve.
      index: {
        ...direct,
        findCategoryTrees: async (ids, paths) => {
          await sleep(300);
          return direct.findCategoryTrees(ids, paths);
        },
      },
    });
    await r.faults({ delayMs: 2000 });
    const q = { productIds: [3], sessionExternalId: 'v1' };
    for (let i = 0; i < 2; i += 1) {
      const answer = await service.get('productRecommendations/alternatives', q);
      expect(answer).toMatchObject({ source: 'fallback', reason: 'upstream_timeout' });
    }
    expect(upstreamCalls()).toBe(2);
    expect(service.breakerStates().productRecommendations).toMatchObject({ state: 'closed', opened: 0 });
  });

  it('a failed probe opens the breaker again', async () => {
    const coolDownMs = 300;
    const { service, upstreamCalls } = r.service({
      options: { breaker: { failureThreshold: 1, coolDownMs } },
    });
    await r.faults({ delayMs: 2000 });
    const q = { productIds: [3], sessionExternalId: 'v1' };
    expect((await service.get('productRecommendations/alternatives', q)).reason).toBe('upstream_timeout');
    expect((await service.get('productRecommendations/alternatives', q)).reason).toBe('circuit_open');
    await sleep(coolDownMs);
    expect((await service.get('productRecommendations/alternatives', q)).reason).toBe('upstream_timeout');
    expect(upstreamCalls()).toBe(2);
    expect(service.breakerStates().productRecommendations).toMatchObject({ state: 'open', opened: 2 });
  });
});

describe('Retail Rocket answering with errors', () => {
  it.each([500, 503, 429, 401])('%i → the fallback with reason upstream_error', async (status) => {
    const { service, upstreamCalls } = r.service({ env: { RR_TIMEOUT_MS: '5000' } });
    await r.faults({ forcedStatus: status });
    const a = await service.get('productRecommendations/related', {
      productIds: [3],
      sessionExternalId: 'v1',
      stockId: 'north',
    });
    expect(a).toMatchObject({ source: 'fallback', reason: 'upstream_error' });
    expect(a.items.length).toBeGreaterThan(0);
    await expectSound(r.h.db.pool, a, 'north', ['3']);
    expect(upstreamCalls()).toBe(1); // no retry on the request path
  });

  it('Retail Rocket unreachable → the fallback, well within the deadline', async () => {
    const { service } = r.service({ env: { RR_RECOMMENDATIONS_URL: 'https://127.0.0.1:9/api/3.0/' } });
    const a = await service.get('partnerRecommendations/popular', {
      sessionExternalId: 'v1',
      stockId: 'north',
    });
    expect(a).toMatchObject({ source: 'fallback', reason: 'upstream_error' });
    await expectSound(r.h.db.pool, a, 'north');
  });
});
