import { product, type ProductRow, type StockRow, type StoreFixture } from '../feed/store.fixture.ts';

/**
 * The storefront simulation's world, all drawn from one seed: a small store (what the published
 * catalog holds), the products added before the second sync, the ids that are never valid, and
 * each visitor's plan of actions. Every accepted event carries the fate the catalog gives it:
 * sent at once, parked until the next sync, or parked and dropped after EVENT_PARK_TTL.
 */

/** xorshift32: small, fast, reproducible from a printed seed. */
export function prng(seed: number) {
  let s = seed >>> 0 || 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const chance = (p: number) => next() < p;
  /** A non-empty random subset, in the input order. */
  const subset = <T>(xs: readonly T[]): T[] => {
    const out = xs.filter(() => chance(0.6));
    return out.length > 0 ? out : [pick(xs)];
  };
  return { next, int, pick, chance, subset };
}
export type Prng = ReturnType<typeof prng>;

export const WAREHOUSES = ['north', 'south', 'east'] as const;

/** Kitchen 1 > Knives 2, Pans 3; Garden 4 > Tools 5, Lights 6 (no product lists Lights). */
const CATEGORIES = [
  { id: '1', parent_id: null, name: 'Kitchen' },
  { id: '2', parent_id: '1', name: 'Knives' },
  { id: '3', parent_id: '1', name: 'Pans' },
  { id: '4', parent_id: null, name: 'Garden' },
  { id: '5', parent_id: '4', name: 'Tools' },
  { id: '6', parent_id: '4', name: 'Lights' },
];
const LEAVES = ['2', '3', '5'];
/** Group id -> members (products 1..48 are published). */
const GROUPS: Record<string, string[]> = {
  '100': ['1', '2', '3'],
  '200': ['10', '11'],
  '300': ['20', '21', '22', '23'],
};
/** Rows the validator refuses (no name, a price that is not a number): never published. */
const INVALID_ROWS = [product('49', { name: null }), product('50', { price: 'abc' })];

/** Added to the store between the phases: category Kitchen/Boards 7, group 400 = 61 and 62. */
const LATER_CATEGORY = { id: '7', parent_id: '1', name: 'Boards' };
const LATER_GROUPS: Record<string, string[]> = { '400': ['61', '62'] };

export interface World {
  store: Required<StoreFixture>;
  later: { categories: typeof CATEGORIES; products: ProductRow[]; stocks: StockRow[] };
  /** Product id -> its stock ids (any availability), published ones and later ones. */
  stocksOf: Map<string, string[]>;
  published: string[];
  unavailable: string[];
  laterProducts: string[];
  groups: Record<string, string[]>;
  laterGroups: Record<string, string[]>;
  /** Well-formed ids the catalog never has (49 and 50 are invalid store rows; 9001+ only Retail Rocket has). */
  neverProducts: string[];
  /** Products only the emulator's catalog has: it may recommend them, we must not. */
  emulatorOnly: string[];
}

function stockRows(r: Prng, id: string, stocksOf: Map<string, string[]>): StockRow[] {
  const rows: StockRow[] = [];
  for (const w of WAREHOUSES) {
    if (!r.chance(0.6)) continue;
    rows.push({
      product_id: id,
      warehouse_id: w,
      // NULL inherits the product's flag.
      available: r.chance(0.1) ? null : r.chance(0.75) ? 'true' : 'false',
      price: r.chance(0.3) ? `${5 + r.int(20)}.90` : null,
    });
  }
  stocksOf.set(
    id,
    rows.map((s) => s.warehouse_id!),
  );
  return rows;
}

export function createWorld(r: Prng): World {
  const stocksOf = new Map<string, string[]>();
  const groupOf = new Map(Object.entries(GROUPS).flatMap(([g, ms]) => ms.map((m) => [m, g] as const)));
  const products: ProductRow[] = [];
  const stocks: StockRow[] = [];
  for (let i = 1; i <= 48; i++) {
    const id = String(i);
    products.push(
      product(id, {
        group_id: groupOf.get(id) ?? null,
        category_ids: `{${r.pick(LEAVES)}}`,
        available: r.chance(0.15) ? 'false' : 'true',
        price: `${10 + r.int(90)}.50`,
      }),
    );
    stocks.push(...stockRows(r, id, stocksOf));
  }
  const laterGroupOf = new Map(
    Object.entries(LATER_GROUPS).flatMap(([g, ms]) => ms.map((m) => [m, g] as const)),
  );
  const laterProducts = ['60', '61', '62', '63', '64'];
  const later = {
    categories: [LATER_CATEGORY],
    products: laterProducts.map((id) =>
      product(id, {
        group_id: laterGroupOf.get(id) ?? null,
        category_ids: id === '63' ? '{7}' : `{${r.pick(LEAVES)}}`,
      }),
    ),
    stocks: laterProducts.flatMap((id) => stockRows(r, id, stocksOf)),
  };
  return {
    store: {
      categories: CATEGORIES,
      warehouses: WAREHOUSES.map((id) => ({ id, name: id })),
      products: [...products, ...INVALID_ROWS],
      stocks,
    },
    later,
    stocksOf,
    published: products.map((p) => p.id!),
    unavailable: products.filter((p) => p.available === 'false').map((p) => p.id!),
    laterProducts,
    groups: GROUPS,
    laterGroups: LATER_GROUPS,
    neverProducts: ['49', '50', '9001', '9002', '777777'],
    emulatorOnly: ['9001', '9002'],
  };
}

/** What the catalog makes of an accepted event. */
export type Fate = 'sent' | 'parked' | 'dropped';

export type Action =
  | { kind: 'event'; type: string; body: Record<string, unknown>; fate: Fate }
  | { kind: 'batch'; items: { type: string; body: Record<string, unknown>; fate: Fate }[] }
  | { kind: 'invalid'; type: string; body: Record<string, unknown> }
  | { kind: 'recs'; resource: string; params: Record<string, string>; inputs: string[]; stockId?: string };

const PATHS = {
  known: ['Kitchen', 'Kitchen/Knives', 'Kitchen/Pans', 'Garden', 'Garden/Tools'],
  later: ['Kitchen/Boards'],
  // Garden/Lights is a valid category, but no product has it: Retail Rocket learns category
  // paths only from the Product API records of products, so it does not know that one.
  never: ['Garden/Lights', 'Kitchen/Spoons'],
};
const RESOURCES = [
  'productRecommendations/related',
  'productRecommendations/alternatives',
  'productRecommendations/accessories',
  'productRecommendations/upsell',
  'categoryRecommendations/popular',
  'categoryRecommendations/latest',
  'categoryRecommendations/popularByCategoryPath',
  'partnerRecommendations/popular',
  'partnerRecommendations/personalComposite',
  'searchRecommendations/search',
] as const;
const WORDS = ['knife', 'pan', 'rake', 'lamp', 'board', 'steel', 'garden'];

/** Ids the shop can never send: each is a 400 and nothing is stored. */
const INVALID: { type: string; body: Record<string, unknown> }[] = [
  { type: 'view', body: { productId: 'abc' } },
  { type: 'view', body: { productId: 0 } },
  { type: 'addToBasket', body: { productId: -3 } },
  { type: 'addToBasket', body: { productId: '12x' } },
  { type: 'view', body: { productId: 5, colour: 'red' } },
  { type: 'groupView', body: { groupId: 'g1', productIds: [1] } },
  { type: 'categoryView', body: { categoryId: 1.5 } },
  { type: 'search', body: { searchPhrase: '' } },
  { type: 'view', body: { productId: 5, stockId: ' north' } },
];

/**
 * One visitor's actions in one phase. `afterSync`: the later products are published by then.
 * `stamp()` gives each event a unique timestamp (how the emulator's copy is matched to it).
 */
export function planVisitor(
  r: Prng,
  w: World,
  visitor: string,
  actions: number,
  afterSync: boolean,
  stamp: () => string,
  orders: { n: number },
): Action[] {
  const productClass = (id: string): Fate =>
    w.published.includes(id)
      ? 'sent'
      : w.laterProducts.includes(id)
        ? afterSync
          ? 'sent'
          : 'parked'
        : 'dropped';
  const worst = (...fates: Fate[]): Fate =>
    fates.includes('dropped') ? 'dropped' : fates.includes('parked') ? 'parked' : 'sent';
  const pickProduct = (): string => {
    const roll = r.next();
    if (roll < 0.62) return r.pick(w.published);
    if (roll < 0.74) return r.pick(w.unavailable.length > 0 ? w.unavailable : w.published);
    if (roll < 0.88) return r.pick(w.laterProducts);
    return r.pick(w.neverProducts);
  };
  /** No stockId, one of the product's stocks, or one it has no record in (never known). */
  const pickStock = (id: string): { stockId?: string; fate: Fate } => {
    const own = w.stocksOf.get(id) ?? [];
    const roll = r.next();
    if (roll < 0.4) return { fate: 'sent' };
    if (roll < 0.85 && own.length > 0) return { stockId: r.pick(own), fate: 'sent' };
    const other = WAREHOUSES.filter((s) => !own.includes(s));
    return { stockId: other.length > 0 ? r.pick(other) : 'west', fate: 'dropped' };
  };
  // Ids sometimes as digit strings: the service sends numbers either way.
  const idValue = (id: string) => (r.chance(0.3) ? id : Number(id));
  const productEvent = (type: 'view' | 'addToBasket') => {
    const id = pickProduct();
    const s = pickStock(id);
    return {
      type,
      body: { productId: idValue(id), ...(s.stockId ? { stockId: s.stockId } : {}) },
      fate: worst(productClass(id), s.fate),
    };
  };
  const groups: Record<string, string[]> = { ...w.groups, ...w.laterGroups, '999': ['30', '31'] };
  const out: Action[] = [];
  for (let i = 0; i < actions; i++) {
    const roll = r.next();
    let a: Action;
    if (roll < 0.18) a = { kind: 'event', ...productEvent('view') };
    else if (roll < 0.28) a = { kind: 'event', ...productEvent('addToBasket') };
    else if (roll < 0.36) {
      const g = r.pick(Object.keys(groups));
      const members = r.subset(groups[g]!);
      // Now and then a product that is not a member (Retail Rocket would flag the mismatch).
      const intruder = r.chance(0.1) ? ['40'] : [];
      const known = g in w.groups ? 'sent' : g in w.laterGroups ? (afterSync ? 'sent' : 'parked') : 'dropped';
      a = {
        kind: 'event',
        type: 'groupView',
        body: { groupId: idValue(g), productIds: [...members, ...intruder].map(Number) },
        fate: worst(known, intruder.length > 0 ? 'dropped' : 'sent'),
      };
    } else if (roll < 0.43) {
      const c = r.pick(['1', '2', '3', '4', '5', '6', '6', '7', '99']);
      const fate: Fate = c === '7' ? (afterSync ? 'sent' : 'parked') : c === '99' ? 'dropped' : 'sent';
      a = { kind: 'event', type: 'categoryView', body: { categoryId: idValue(c) }, fate };
    } else if (roll < 0.48) {
      const which = r.pick(['known', 'known', 'later', 'never'] as const);
      const p = r.pick(PATHS[which]);
      const fate: Fate =
        which === 'known' ? 'sent' : which === 'later' ? (afterSync ? 'sent' : 'parked') : 'dropped';
      a = { kind: 'event', type: 'categoryViewByCategoryPath', body: { categoryPath: p }, fate };
    } else if (roll < 0.55) {
      const sroll = r.next();
      const stockId = sroll < 0.5 ? undefined : sroll < 0.9 ? r.pick(WAREHOUSES) : 'west';
      a = {
        kind: 'event',
        type: 'search',
        body: { searchPhrase: r.pick(WORDS), ...(stockId ? { stockId } : {}) },
        fate: stockId === 'west' ? 'dropped' : 'sent',
      };
    } else if (roll < 0.61) {
      const e = productEvent('addToBasket');
      orders.n += 1;
      a = {
        kind: 'event',
        type: 'order',
        body: {
          ...e.body,
          price: 10 + r.int(90),
          quantity: 1 + r.int(3),
          transaction: `T-${visitor}-${orders.n}`,
        },
        fate: e.fate,
      };
    } else if (roll < 0.65) {
      a = { kind: 'batch', items: [productEvent('view'), productEvent(r.pick(['view', 'addToBasket']))] };
    } else if (roll < 0.69) {
      a = { kind: 'invalid', ...r.pick(INVALID) };
    } else {
      a = recs(r, w, visitor);
    }
    if (a.kind === 'event') a.body = { sessionExternalId: visitor, ...a.body, timestamp: stamp() };
    if (a.kind === 'invalid') a.body = { sessionExternalId: visitor, ...a.body, timestamp: stamp() };
    if (a.kind === 'batch')
      for (const it of a.items) it.body = { sessionExternalId: visitor, ...it.body, timestamp: stamp() };
    out.push(a);
  }
  return out;
}

function recs(r: Prng, w: World, visitor: string): Action {
  const resource = r.pick(RESOURCES);
  const stockId = r.chance(0.8) ? r.pick(WAREHOUSES) : undefined;
  const params: Record<string, string> = { sessionExternalId: visitor, ...(stockId ? { stockId } : {}) };
  let inputs: string[] = [];
  if (resource.startsWith('productRecommendations/')) {
    const pool = [...w.published, ...w.published, ...w.laterProducts, ...w.neverProducts];
    inputs = [...new Set([r.pick(pool), ...(r.chance(0.3) ? [r.pick(pool)] : [])])];
    params.productIds = inputs.join(',');
  } else if (resource === 'categoryRecommendations/popularByCategoryPath') {
    params.categoryPaths = r.pick([...PATHS.known, ...PATHS.later, ...PATHS.never]);
  } else if (resource.startsWith('categoryRecommendations/')) {
    params.categoryIds = r.pick(['1', '2', '3', '4', '5', '6', '7', '99']);
  } else if (resource.startsWith('searchRecommendations/')) {
    params.searchPhrase = r.pick(WORDS);
  }
  if (r.chance(0.5)) params.limit = String(1 + r.int(12));
  return { kind: 'recs', resource, params, inputs, ...(stockId ? { stockId } : {}) };
}
