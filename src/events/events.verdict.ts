import { itemKey } from '../sync/sync.contracts.ts';
import type { RrResult } from '../rr/index.ts';
import { deliveryVerdict } from '../shared/delivery.verdict.ts';
import type { EventDeadLetter } from './events.repository.ts';

/**
 * Pure decisions of the event sender, tested without a database: which catalog ids an event
 * names, whether they are all known (send) or not (park), what to do after a call (sent, retry,
 * dead letter), and when a parked event is dropped.
 */

/** The catalog ids an event names (decimal text), by kind. */
export interface EventIds {
  products: string[];
  groups: string[];
  categories: string[];
  categoryPaths: string[];
  /** Stock ids of events without a product (search, setContact): must be a stock of some product. */
  stocks: string[];
}

/** What the published-catalog index knows of those ids. */
export interface KnownIds {
  /** Product id -> its stock ids. */
  products: Map<string, readonly string[]>;
  /** Group id -> its known members. */
  groups: Map<string, string[]>;
  categories: Map<string, string>;
  categoryPaths: Set<string>;
  stocks: Set<string>;
  /**
   * Outbox keys (product:<id>, stock:<id>:<stockId>, group:<id>) of records Retail Rocket was never
   * given: enqueued as new by a sync, not pushed yet. The index has them; Retail Rocket does not
   * until the push lands (or it pulls the feed, hours later maybe).
   */
  unpushed?: ReadonlySet<string>;
}

const text = (v: unknown) => (v === undefined || v === null ? undefined : String(v));

export function idsOf(body: Record<string, unknown>): EventIds {
  const ids: EventIds = { products: [], groups: [], categories: [], categoryPaths: [], stocks: [] };
  const productId = text(body.productId);
  if (productId !== undefined) ids.products.push(productId);
  if (Array.isArray(body.productIds)) ids.products.push(...body.productIds.map(String));
  const groupId = text(body.groupId);
  if (groupId !== undefined) ids.groups.push(groupId);
  const categoryId = text(body.categoryId);
  if (categoryId !== undefined) ids.categories.push(categoryId);
  if (typeof body.categoryPath === 'string') ids.categoryPaths.push(body.categoryPath);
  const stockId = text(body.stockId);
  if (stockId !== undefined && ids.products.length === 0) ids.stocks.push(stockId);
  return ids;
}

/**
 * The Product API records an event relies on (outbox keys): each product's, the record of the
 * product's stock when it names one, each group's. idVerdict parks it while one was never pushed.
 */
export function recordKeys(body: Record<string, unknown>, ids: EventIds = idsOf(body)): string[] {
  const stockId = text(body.stockId);
  const keys = ids.products.flatMap((p) =>
    stockId === undefined ? [itemKey.product(p)] : [itemKey.product(p), itemKey.stock(p, stockId)],
  );
  return [...keys, ...ids.groups.map(itemKey.group)];
}

/** Every kind of id of many events at once (one query per kind). */
export function mergeIds(all: readonly EventIds[]): EventIds {
  const out: EventIds = { products: [], groups: [], categories: [], categoryPaths: [], stocks: [] };
  for (const ids of all) for (const k of Object.keys(out) as (keyof EventIds)[]) out[k].push(...ids[k]);
  return out;
}

export type IdVerdict = { action: 'send' } | { action: 'park'; unknown: string[] };

/**
 * Send only when Retail Rocket was given every id the event names: each product (and its
 * stockId, which must be one of that product's stocks), the group with each listed product as a
 * member, the category or category path, a product-less event's stock. Anything else waits.
 */
export function idVerdict(body: Record<string, unknown>, known: KnownIds): IdVerdict {
  const ids = idsOf(body);
  const unknown: string[] = [];
  const stockId = text(body.stockId);
  const unpushed = known.unpushed ?? new Set<string>();
  for (const id of ids.products) {
    const stocks = known.products.get(id);
    if (!stocks || unpushed.has(itemKey.product(id))) unknown.push(`product ${id}`);
    else if (stockId !== undefined && (!stocks.includes(stockId) || unpushed.has(itemKey.stock(id, stockId))))
      unknown.push(`stock ${stockId} of product ${id}`);
  }
  for (const g of ids.groups) {
    const members = known.groups.get(g);
    if (!members || unpushed.has(itemKey.group(g))) unknown.push(`group ${g}`);
    else
      for (const id of ids.products) if (!members.includes(id)) unknown.push(`product ${id} in group ${g}`);
  }
  for (const c of ids.categories) if (!known.categories.has(c)) unknown.push(`category ${c}`);
  for (const p of ids.categoryPaths) if (!known.categoryPaths.has(p)) unknown.push(`category path ${p}`);
  for (const s of ids.stocks) if (!known.stocks.has(s)) unknown.push(`stock ${s}`);
  return unknown.length === 0 ? { action: 'send' } : { action: 'park', unknown };
}

/** A parked event is dropped once it has waited EVENT_PARK_TTL and its ids are still unknown. */
export function parkedVerdict(idsKnown: boolean, expired: boolean): 'unpark' | 'drop' | 'wait' {
  if (idsKnown) return 'unpark';
  return expired ? 'drop' : 'wait';
}

/** Backoff of event retries: 1 s, 2 s, 4 s ... capped at 5 min, full jitter. */
export const EVENT_BACKOFF = { baseMs: 1000, maxMs: 300_000 } as const;

export type SendVerdict =
  | { action: 'sent' }
  | { action: 'retry'; delayMs: number; countAttempt: boolean; error: string }
  | { action: 'dead'; failure: Omit<EventDeadLetter, 'id'> }
  /** Not sent and not the event's fault (the client was closed): give the lease back. */
  | { action: 'release' };

export interface SendVerdictOptions {
  /** Retryable failures are retried while the event is younger than this (default 24 h). */
  retryWindowMs?: number;
  backoff?: { baseMs?: number; maxMs?: number; random?: () => number };
}

/**
 * Design §6: 2xx is sent; timeouts, network errors, 429 and 5xx are retried with backoff (never
 * before a Retry-After), for as long as the event is younger than the retry window (an outage of
 * hours loses nothing); any other 4xx or a body the client refuses is a dead letter at once. Our
 * own limiter refusing a slot sent nothing, so it is retried without counting an attempt.
 */
export function sendVerdict(
  result: RrResult<void>,
  attemptsBefore: number,
  ageMs: number,
  opts: SendVerdictOptions = {},
): SendVerdict {
  const windowMs = opts.retryWindowMs ?? 24 * 3600_000;
  const v = deliveryVerdict(result, attemptsBefore, {
    giveUp: (made) =>
      ageMs >= windowMs ? `gave up after ${made} attempts over ${Math.round(ageMs / 60_000)} min` : null,
    backoff: { ...EVENT_BACKOFF, ...opts.backoff },
  });
  return v.action === 'done' ? { action: 'sent' } : v;
}
