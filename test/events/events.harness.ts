import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config.ts';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { createEventSender, type EventSenderOptions } from '../../src/events/events.sender.ts';
import { createEventService } from '../../src/events/events.service.ts';
import { FEED_FILES, readCurrentFeed } from '../../src/feed/feed.layout.ts';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createPusher } from '../../src/sync/pusher.ts';
import { runSyncJob } from '../../src/sync/sync.job.ts';
import { startTestEmulator } from '../emulator/emulator.helpers.ts';
import { createStore, product, type StoreFixture } from '../feed/store.fixture.ts';
import { createTestDatabase } from '../helpers/db.ts';

export const PARTNER_ID = '5f1b2c3d4e5f60718293a4b5';
export const API_KEY = 'c0ffee0123456789abcdef01';

/** Products 1-8; group 30 = products 3 and 4; category 2 = Kitchen/Knives; stock north of 1 and 3. */
export const STORE: Required<StoreFixture> = {
  categories: [
    { id: '1', parent_id: null, name: 'Kitchen' },
    { id: '2', parent_id: '1', name: 'Knives' },
  ],
  warehouses: [
    { id: 'north', name: 'North' },
    { id: 'south', name: 'South' },
  ],
  products: [
    product('1'),
    product('2'),
    product('3', { group_id: '30' }),
    product('4', { group_id: '30' }),
    ...['5', '6', '7', '8'].map((id) => product(id)),
  ],
  stocks: [
    { product_id: '1', warehouse_id: 'north', available: 'true' },
    { product_id: '3', warehouse_id: 'north', available: 'true' },
  ],
};

export interface EmulatedEvent {
  seq: number;
  type: string;
  sessionExternalId: string;
  timestamp: string;
  receivedAt: string;
  body: Record<string, unknown>;
}

/**
 * Real PostgreSQL with a synced store (the published-catalog index filled by runSyncJob), and the
 * emulator over HTTP/2 knowing the same catalog (it imported the published feed, as Retail Rocket
 * pulls it, and got every record through the Product API).
 */
export async function createEventsHarness() {
  const db = await createTestDatabase({ max: 20 });
  const emu: EmulatorHandle = await startTestEmulator({
    partners: [{ partnerId: PARTNER_ID, apiKey: API_KEY }],
  });
  const feedsDir = await mkdtemp(path.join(tmpdir(), 'rr-events-'));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: db.url,
    FEEDS_DIR: feedsDir,
    FEED_MAX_DROP: '0.9',
    RR_PARTNER_ID: PARTNER_ID,
    RR_API_KEY: API_KEY,
    RR_TRACKING_URL: `${emu.h2Url}/1.0/`,
    RR_PRODUCT_API_URL: `${emu.h2Url}/api/1.0/`,
    RR_CA_FILE: emu.caFile,
    // Generous: the machine running the tests may be loaded.
    RR_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'silent',
  };
  const config = (over: Record<string, string> = {}): Config => loadConfig({ ...env, ...over });
  const clients: RetailRocketClient[] = [];
  const client = (c = config()) => {
    const rr = createRetailRocketClient({ ...c.rr, http: { keepAliveMs: 1000 } }, { logger: silentLogger });
    clients.push(rr);
    return rr;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const admin = async (p: string, init?: RequestInit): Promise<any> => {
    const res = await fetch(`${emu.httpUrl}${p}`, init);
    if (!res.ok) throw new Error(`emulator admin ${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  /** Events and warnings before this emulator seq belong to earlier tests. */
  let since = 0;
  const h = {
    db,
    emu,
    env,
    config,
    client,
    admin,
    /** Sync the store into the index and let the emulator import the published feed. */
    async sync(store: StoreFixture = STORE) {
      await createStore(db.pool, store);
      const c = config();
      await runSyncJob({ catalog: db.pool, state: db.pool, config: c, logger: silentLogger });
      const current = await readCurrentFeed(feedsDir);
      const xml = await readFile(path.join(current!.dir, FEED_FILES.xml));
      await admin(`/__emulator/feed?partnerId=${PARTNER_ID}`, {
        method: 'POST',
        headers: { 'content-type': 'application/xml' },
        body: xml,
      });
      // The emulator learns category paths only from Product API records (a feed offer has
      // none), so push the whole catalog too: categoryViewByCategoryPath must find its path.
      await runSyncJob({ catalog: db.pool, state: db.pool, config: c, logger: silentLogger }, { full: true });
      await createPusher({ state: db.pool, rr: client(c), config: c, logger: silentLogger }).drain();
    },
    service(c = config()) {
      return createEventService({ state: db.pool, config: c, logger: silentLogger });
    },
    sender(options: EventSenderOptions = {}, owner?: string, c = config()) {
      return createEventSender(
        { state: db.pool, rr: client(c), config: c, logger: silentLogger, owner },
        options,
      );
    },
    /** Forget the spool and its counters; later events() and warnings() ignore what came before. */
    async reset() {
      await db.pool.query(
        'truncate rr_sync.event_spool, rr_sync.event_dead_letters, rr_sync.event_counts, rr_sync.product_popularity',
      );
      const last = (await admin(`/__emulator/events?partnerId=${PARTNER_ID}&limit=1`))
        .events as EmulatedEvent[];
      since = last.at(-1)?.seq ?? since;
    },
    async events(): Promise<EmulatedEvent[]> {
      return (await admin(`/__emulator/events?partnerId=${PARTNER_ID}&since=${since}`)).events;
    },
    async warnings(): Promise<unknown[]> {
      const all = (await admin(`/__emulator/warnings?partnerId=${PARTNER_ID}`)).warnings as {
        eventSeq: number;
      }[];
      return all.filter((w) => w.eventSeq > since);
    },
    async faults(f: Record<string, unknown>) {
      await admin('/__emulator/faults', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(f),
      });
    },
    async spool(): Promise<{ id: string; status: string; visitor: string }[]> {
      return (await db.pool.query('select id::text, status, visitor from rr_sync.event_spool order by id'))
        .rows;
    },
    async counts(): Promise<Record<string, number>> {
      const { rows } = await db.pool.query(
        'select result, reason, sum(count)::int as n from rr_sync.event_counts group by result, reason',
      );
      return Object.fromEntries(rows.map((r) => [r.reason ? `${r.result}:${r.reason}` : r.result, r.n]));
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await emu.stop();
      await db.drop();
      await rm(feedsDir, { recursive: true, force: true });
    },
  };
  return h;
}

export type EventsHarness = Awaited<ReturnType<typeof createEventsHarness>>;

export const FAULTS_OFF = {
  delayMs: 0,
  jitterMs: 0,
  errorRate: 0,
  forcedStatus: null,
  dropRate: 0,
  retryAfterSeconds: 1,
  paths: '',
};

/** The emulator's events grouped per visitor, as a list of a chosen key per event. */
export function perVisitor(
  events: EmulatedEvent[],
  key: (e: EmulatedEvent) => string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of events) out.set(e.sessionExternalId, [...(out.get(e.sessionExternalId) ?? []), key(e)]);
  return out;
}
