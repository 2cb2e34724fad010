import { emptyCatalog, type Catalog } from './emulator.catalog.ts';
import type { FieldIssue } from './emulator.validation.ts';
import type { FeedCounters, FeedImportReport } from './emulator.types.ts';

export interface StoredEvent {
  seq: number;
  partnerId: string;
  type: string;
  /** sessionExternalId, or `link:<name>:<value>` for link-identified visitors. */
  visitor: string;
  sessionExternalId: string | null;
  receivedAt: string;
  /** The event's own timestamp, or the receipt time when it had none (§1.8). */
  timestamp: string;
  /** Set for events that came in a `visitorEvents` batch. */
  batch: { id: number; index: number } | null;
  body: Record<string, unknown>;
  /** Lenient mode: what strict validation would have refused. */
  notes: FieldIssue[];
  /** Codes of the consistency warnings raised by this event (details in the warnings list). */
  warnings: string[];
}

export interface ConsistencyWarning {
  seq: number;
  eventSeq: number;
  partnerId: string;
  sessionExternalId: string | null;
  eventType: string;
  field: string;
  value: string;
  code: string;
  message: string;
}

export interface ProductUpsert {
  seq: number;
  partnerId: string;
  kind: 'product' | 'group';
  id: string;
  stockId: string | null;
  receivedAt: string;
  /** Product ids this call created or replaced. */
  productIds: string[];
  body: unknown;
}

/** One Product API call as it arrived and was answered, faulted or not (tests check retry timing). */
export interface ProductCall {
  seq: number;
  partnerId: string;
  kind: 'product' | 'group';
  id: string;
  stockId: string | null;
  receivedAt: string;
  answeredAt: string;
  /** 0 when the connection was dropped without an answer. */
  status: number;
}

/** The last body accepted per item key (`product:<id>`, `stock:<id>:<stockId>`, `group:<groupId>`). */
export interface ProductBody {
  seq: number;
  receivedAt: string;
  body: unknown;
}

interface Popularity {
  order: number;
  addToBasket: number;
  view: number;
}

const POPULARITY_FIELD: Record<string, keyof Popularity | undefined> = {
  order: 'order',
  addToBasket: 'addToBasket',
  recomAddToBasket: 'addToBasket',
  view: 'view',
  groupView: 'view',
  recomTap: 'view',
};

export function eventProductIds(ev: { type: string; body: Record<string, unknown> }): string[] {
  const b = ev.body;
  if (ev.type === 'groupView' && Array.isArray(b.productIds)) return b.productIds.map(String);
  return b.productId === undefined || b.productId === null ? [] : [String(b.productId)];
}

/** Everything the emulator knows about one partner. */
export class PartnerState {
  catalog: Catalog = emptyCatalog();
  events: StoredEvent[] = [];
  droppedEvents = 0;
  warnings: ConsistencyWarning[] = [];
  upserts: ProductUpsert[] = [];
  /** Final Product API state per item key: unlike `upserts`, never trimmed. */
  productBodies = new Map<string, ProductBody>();
  feedReports: FeedImportReport[] = [];
  feedCounters: FeedCounters = { pulls: 0, imported: 0, notModified: 0, failed: 0 };
  /** Conditional-request validators per feed URL (ETag / Last-Modified of the last 200). */
  feedValidators = new Map<string, { etag: string | null; lastModified: string | null }>();
  /** Bumped on every change; recommendation caches key on it. */
  version = 0;

  readonly popularity = new Map<string, Popularity>();
  /** transaction -> product id -> order lines. */
  readonly transactions = new Map<string, Map<string, number>>();
  readonly byVisitor = new Map<string, StoredEvent[]>();
  /** "transaction\0productId" seen, for duplicate order-line warnings (§6.6). */
  readonly orderLines = new Map<string, number>();

  constructor(
    readonly partnerId: string,
    private readonly maxEvents: number,
  ) {}

  /** Appends events in the given order; the oldest are dropped (and un-indexed) beyond the cap. */
  append(events: StoredEvent[]): void {
    for (const ev of events) {
      this.events.push(ev);
      this.index(ev, 1);
    }
    const excess = this.events.length - this.maxEvents;
    if (excess > 0) {
      for (const ev of this.events.splice(0, excess)) this.index(ev, -1);
      this.droppedEvents += excess;
    }
    this.version += 1;
  }

  popularityOf(productId: string): Popularity {
    return this.popularity.get(productId) ?? { order: 0, addToBasket: 0, view: 0 };
  }

  private index(ev: StoredEvent, delta: 1 | -1): void {
    const field = POPULARITY_FIELD[ev.type];
    if (field) {
      for (const id of eventProductIds(ev)) {
        const p = this.popularity.get(id) ?? { order: 0, addToBasket: 0, view: 0 };
        p[field] += delta;
        this.popularity.set(id, p);
      }
    }
    if (ev.type === 'order') {
      const tx = String(ev.body.transaction);
      const lines = this.transactions.get(tx) ?? new Map<string, number>();
      for (const id of eventProductIds(ev)) {
        const n = (lines.get(id) ?? 0) + delta;
        if (n > 0) lines.set(id, n);
        else lines.delete(id);
        const key = `${tx}\u0000${id}`;
        const seen = (this.orderLines.get(key) ?? 0) + delta;
        if (seen > 0) this.orderLines.set(key, seen);
        else this.orderLines.delete(key);
      }
      if (lines.size > 0) this.transactions.set(tx, lines);
      else this.transactions.delete(tx);
    }
    const list = this.byVisitor.get(ev.visitor) ?? [];
    if (delta === 1) list.push(ev);
    else if (list[0] === ev) list.shift();
    if (list.length > 0) this.byVisitor.set(ev.visitor, list);
    else this.byVisitor.delete(ev.visitor);
  }
}

/** All partners' state plus the sequence counters shared by them. */
export class EmulatorState {
  readonly partners = new Map<string, PartnerState>();
  /** Every Product API call, oldest dropped beyond MAX_PRODUCT_CALLS. */
  productCalls: ProductCall[] = [];
  private seq = 0;
  private batchSeq = 0;

  constructor(
    readonly apiKeys: Map<string, string>,
    private readonly maxEvents: number,
  ) {
    this.reset();
  }

  partner(partnerId: string): PartnerState | undefined {
    return this.partners.get(partnerId);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  nextBatchId(): number {
    this.batchSeq += 1;
    return this.batchSeq;
  }

  reset(): void {
    this.partners.clear();
    this.productCalls = [];
    for (const id of this.apiKeys.keys()) this.partners.set(id, new PartnerState(id, this.maxEvents));
  }
}
