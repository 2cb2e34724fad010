import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import {
  AUTH,
  h2Transport,
  http1Transport,
  P,
  startTestEmulator,
  track,
  type Transport,
} from './emulator.helpers.ts';

let emu: EmulatorHandle;
let h2: ReturnType<typeof h2Transport>;
let h1: Transport;

const OTHER = { partnerId: 'eeeeeeeeeeeeeeeeeeeeeeee', apiKey: '0123456789abcdef01234567' };

beforeAll(async () => {
  emu = await startTestEmulator({
    partners: [P, OTHER],
    limits: { tracking: 3, recommendations: 2, site: 5 },
    // A long window: a slow, shared machine must not let the window slide mid-test.
    behaviour: { rateWindowMs: 60_000 },
  });
  h2 = h2Transport(emu);
  h1 = http1Transport(emu);
});
afterAll(async () => {
  h2.close();
  await emu.stop();
});
beforeEach(() => emu.reset());

const view = (send: Transport, sid = 'f1') => track(send, 'view', { sessionExternalId: sid, productId: 1 });
const eventCount = async () => (await h1('GET', '/__emulator/events')).json.total as number;

describe('fault injection', () => {
  it('adds the configured delay before answering', async () => {
    emu.setFaults({ delayMs: 250 });
    const started = performance.now();
    const res = await view(h2);
    // Only a lower bound: the machine is shared, so no upper bound is asserted.
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    expect(res.status).toBe(200);
  });

  it('answers every request with the forced status (Retry-After on 429/503) and stores nothing', async () => {
    emu.setFaults({ forcedStatus: 503 });
    for (const send of [h2, h1]) {
      const res = await view(send);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json).toMatchObject({ error: 'injected_fault', status: 503 });
    }
    expect(await eventCount()).toBe(0);
  });

  it('answers 500 for the error-rate fraction when no status is forced', async () => {
    emu.setFaults({ errorRate: 1 });
    expect((await view(h1)).status).toBe(500);
    emu.setFaults({ errorRate: 0 });
    expect((await view(h1)).status).toBe(200);
  });

  it('drops the HTTP/1.1 connection without an answer', async () => {
    emu.setFaults({ dropRate: 1 });
    await expect(view(h1)).rejects.toThrow();
    expect(await eventCount()).toBe(0);
  });

  it('resets the HTTP/2 stream without an answer, leaving the session usable', async () => {
    emu.setFaults({ dropRate: 1, paths: '/1.0/' });
    await expect(view(h2)).rejects.toThrow(/stream|RST|INTERNAL/i);
    const other = await h2('GET', `/api/3.0/partnerRecommendations/popular/?${AUTH}&sessionExternalId=a`);
    expect(other.status).toBe(200);
  });

  it('limits faults to a path prefix and never faults the admin API', async () => {
    emu.setFaults({ forcedStatus: 500, paths: '/api/3.0/' });
    expect((await view(h1)).status).toBe(200);
    expect(
      (await h1('GET', `/api/3.0/partnerRecommendations/popular/?${AUTH}&sessionExternalId=a`)).status,
    ).toBe(500);
    emu.setFaults({ paths: '' });
    expect((await view(h1)).status).toBe(500);
    expect((await h1('GET', '/__emulator/faults')).status).toBe(200);
  });

  it('changes faults at run time through the admin API and validates them', async () => {
    const put = await h1('PUT', '/__emulator/faults', { body: { forcedStatus: 429 } });
    expect(put.json).toMatchObject({ forcedStatus: 429, delayMs: 0 });
    const res = await view(h2);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    const bad = await h1('POST', '/__emulator/faults', { body: { errorRate: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe('errorRate');
    await h1('POST', '/__emulator/faults', { body: { forcedStatus: null } });
    expect((await view(h2)).status).toBe(200);
  });

  it('refuses invalid fault settings given in code', () => {
    expect(() => emu.setFaults({ dropRate: -1 })).toThrow(/dropRate/);
  });

  it('restores the start faults on reset', async () => {
    emu.setFaults({ forcedStatus: 500 });
    await h1('POST', '/__emulator/reset');
    expect((await view(h1)).status).toBe(200);
  });
});

describe('rate limits per partner', () => {
  it('answers 429 with Retry-After once the tracking limit is used up, per partner', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await view(h2)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await view(h1);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const other = await h1('POST', `/1.0/view?partnerId=${OTHER.partnerId}&apiKey=${OTHER.apiKey}`, {
      body: { sessionExternalId: 'o', productId: 1 },
    });
    expect(other.status).toBe(200);
    expect(await eventCount()).toBe(4);
  });

  it('counts recommendations separately and every family against the site limit', async () => {
    const recs = () => h2('GET', `/api/3.0/partnerRecommendations/popular/?${AUTH}&sessionExternalId=a`);
    expect([(await recs()).status, (await recs()).status, (await recs()).status]).toEqual([200, 200, 429]);
    await view(h2);
    await view(h2);
    // site: 2 recs + 2 views = 4 of 5; the Product API only counts against the site limit.
    const item = await h1('GET', `/api/1.0/partner/${P.partnerId}/items/?itemsIds=1`);
    expect(item.status).toBe(200);
    expect((await view(h2)).status).toBe(429);
  });

  it('lets the admin API change the limits (0 switches a limit off)', async () => {
    await h1('PUT', '/__emulator/limits', { body: { tracking: 0, site: 0 } });
    for (let i = 0; i < 6; i += 1) expect((await view(h1)).status).toBe(200);
  });
});
