import { createHash } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config.ts';
import type { EmulatorHandle } from '../../src/emulator/index.ts';
import { createRetailRocketClient, type RetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger, type Logger } from '../../src/shared/logger.ts';
import { enqueue, type OutboxItem } from '../../src/sync/outbox.repository.ts';
import { createPusher, type PusherOptions } from '../../src/sync/pusher.ts';
import { itemKey } from '../../src/sync/sync.contracts.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startTestEmulator } from '../emulator/emulator.helpers.ts';

/**
 * A real PostgreSQL database and a real emulator (HTTP/2 over TLS) for the push tests, plus the
 * environment a `rr-sync push` child process needs to reach both.
 */
/** The account the push tests use (Retail Rocket's format: 24 lowercase hex characters each). */
export const PARTNER_ID = '5f1b2c3d4e5f60718293a4b5';
export const API_KEY = 'c0ffee0123456789abcdef01';
/** The Product API path of one product, e.g. to fault only that item. */
export const productPath = (id: number) => `/api/1.0/partner/${PARTNER_ID}/products/${id}`;

export interface PushHarness {
  db: TestDatabase;
  emu: EmulatorHandle;
  env: Record<string, string>;
  config(over?: Record<string, string>): Config;
  client(config?: Config): RetailRocketClient;
  pusher(over?: { config?: Config; options?: PusherOptions; logger?: Logger; rr?: RetailRocketClient }): {
    pusher: ReturnType<typeof createPusher>;
    rr: RetailRocketClient;
  };
  admin(path: string, init?: RequestInit): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Last body the emulator accepted per item key. */
  pushes(): Promise<Record<string, unknown>>;
  calls(id?: string): Promise<EmulatorCall[]>;
  faults(f: Record<string, unknown>): Promise<void>;
  /** Empties the outbox, dead letters, confirmed pushes and the emulator. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export interface EmulatorCall {
  seq: number;
  kind: 'product' | 'group';
  id: string;
  stockId: string | null;
  receivedAt: string;
  answeredAt: string;
  status: number;
}

export async function createPushHarness(): Promise<PushHarness> {
  const db = await createTestDatabase();
  // The site limit is the emulator's 600/s by default; tests pace below it anyway, two pushers too.
  const emu = await startTestEmulator({ partners: [{ partnerId: PARTNER_ID, apiKey: API_KEY }] });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: db.url,
    RR_PARTNER_ID: PARTNER_ID,
    RR_API_KEY: API_KEY,
    RR_PRODUCT_API_URL: `${emu.h2Url}/api/1.0/`,
    RR_CA_FILE: emu.caFile,
    RR_PUSH_RATE: '400',
    // Generous: the machine running the tests may be loaded (the 500 ms default is for production).
    RR_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'silent',
  };
  const clients: RetailRocketClient[] = [];
  const config = (over: Record<string, string> = {}) => loadConfig({ ...env, ...over });
  const client = (c: Config = config()) => {
    const rr = createRetailRocketClient({ ...c.rr, http: { keepAliveMs: 1000 } }, { logger: silentLogger });
    clients.push(rr);
    return rr;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const admin = async (path: string, init?: RequestInit): Promise<any> => {
    const res = await fetch(`${emu.httpUrl}${path}`, init);
    if (!res.ok) throw new Error(`emulator admin ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    db,
    emu,
    env,
    config,
    client,
    pusher(over = {}) {
      const c = over.config ?? config();
      const rr = over.rr ?? client(c);
      return {
        rr,
        pusher: createPusher(
          { state: db.pool, rr, config: c, logger: over.logger ?? silentLogger },
          over.options,
        ),
      };
    },
    admin,
    async pushes() {
      const body = await admin(`/__emulator/pushes?partnerId=${PARTNER_ID}`);
      return Object.fromEntries(
        Object.entries(body.items as Record<string, { body: unknown }>).map(([k, v]) => [k, v.body]),
      );
    },
    async calls(id) {
      const q = id === undefined ? '' : `&id=${id}`;
      return (await admin(`/__emulator/calls?partnerId=${PARTNER_ID}${q}`)).calls;
    },
    async faults(f) {
      await admin('/__emulator/faults', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(f),
      });
    },
    async reset() {
      await db.pool.query('truncate rr_sync.outbox, rr_sync.dead_letters, rr_sync.pushed');
      emu.reset();
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await emu.stop();
      await db.drop();
    },
  };
}

export const FAULTS_OFF = {
  delayMs: 0,
  jitterMs: 0,
  errorRate: 0,
  forcedStatus: null,
  dropRate: 0,
  retryAfterSeconds: 1,
  paths: '',
};

const hash = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

/** A valid Product API body (ids as JSON numbers, as the client sends them). */
export function productBody(id: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `Item ${id}`,
    price: 10 + (id % 90),
    url: `https://shop.example/p/${id}`,
    pictureUrl: `https://shop.example/img/${id}.jpg`,
    isAvailable: id % 7 !== 0,
    categoryPaths: ['Kitchen/Knives'],
    ...over,
  };
}

export function productItem(id: number, over: Record<string, unknown> = {}, change = 'new'): OutboxItem {
  const body = productBody(id, over);
  return {
    key: itemKey.product(String(id)),
    kind: 'product',
    itemId: String(id),
    body,
    hash: hash(body),
    change,
  };
}

export function stockItem(id: number, stockId: string, over: Record<string, unknown> = {}): OutboxItem {
  const body = productBody(id, { price: 5 + (id % 50), isAvailable: id % 3 !== 0, ...over });
  return {
    key: itemKey.stock(String(id), stockId),
    kind: 'stock',
    itemId: String(id),
    stockId,
    body,
    hash: hash(body),
    change: 'new',
  };
}

export function groupItem(groupId: number, members: number[]): OutboxItem {
  const body = {
    groupId,
    name: `Group ${groupId}`,
    price: 20,
    url: `https://shop.example/g/${groupId}`,
    pictureUrl: `https://shop.example/img/g${groupId}.jpg`,
    isAvailable: true,
    categoryPaths: ['Kitchen/Knives'],
    products: Object.fromEntries(members.map((m) => [String(m), { isAvailable: true, price: 20 + (m % 5) }])),
  };
  return {
    key: itemKey.group(String(groupId)),
    kind: 'group',
    itemId: String(groupId),
    body,
    hash: hash(body),
    change: 'new',
  };
}

/**
 * `products` product records, two stock records for every third product, and a group per 50
 * products: the mix a sync produces.
 */
export function catalogItems(products: number, firstId = 1000): OutboxItem[] {
  const items: OutboxItem[] = [];
  for (let i = 0; i < products; i++) {
    const id = firstId + i;
    items.push(productItem(id));
    if (i % 3 === 0) items.push(stockItem(id, 'moscow'), stockItem(id, 'Склад 5'));
    if (i % 50 === 49) items.push(groupItem(900_000 + i, [id - 2, id - 1, id]));
  }
  return items;
}

/** What the emulator should hold per key after the items were pushed (stock bodies carry stockId). */
export function expectedPushes(items: readonly OutboxItem[]): Record<string, unknown> {
  return Object.fromEntries(
    items.map((i) => [i.key, i.kind === 'stock' ? { ...(i.body as object), stockId: i.stockId } : i.body]),
  );
}

export async function enqueueAll(h: PushHarness, items: readonly OutboxItem[]): Promise<number> {
  return enqueue(h.db.pool, items);
}

export async function outboxCount(h: PushHarness): Promise<number> {
  return (await h.db.pool.query<{ n: number }>('select count(*)::int as n from rr_sync.outbox')).rows[0]!.n;
}

export async function deadLetterRows(h: PushHarness) {
  return (
    await h.db.pool.query(
      'select key, status, error_kind, reason, attempts, requeued_at from rr_sync.dead_letters order by id',
    )
  ).rows;
}
