import { hash } from 'node:crypto';
import type { Offer, Param } from '../validation/product.validator.ts';

/**
 * The one place that knows both sides: a validated feed offer, and the Product API bodies
 * (retailrocket-api.md §3.2.2) that say the same thing — the base record of a product, one record
 * per product x stock, and one `productsgroup` record per group.
 */

/** A Product API product body, as sent (ids and prices as JSON numbers). */
export interface ProductBody {
  id: number;
  name: string;
  price: number;
  url: string;
  pictureUrl: string;
  isAvailable: boolean;
  categoryPaths: string[];
  oldPrice?: number;
  description?: string;
  vendor?: string;
  model?: string;
  typePrefix?: string;
  params?: Record<string, string>;
}

/** What a stock changes of its product's record (design §3 `product_stocks` overrides). */
export interface StockOverride {
  isAvailable: boolean;
  price?: number;
  oldPrice?: number;
  url?: string;
  pictureUrl?: string;
  name?: string;
  description?: string;
}

export interface GroupMember {
  isAvailable: boolean;
  name: string;
  url: string;
  pictureUrl: string;
  price: number;
  oldPrice?: number;
  description?: string;
  params?: Record<string, string>;
}

export interface GroupBody extends Omit<ProductBody, 'id'> {
  groupId: number;
  products: Record<string, GroupMember>;
}

/** What the index keeps per product (rr_sync.catalog_items.body): the base record and the stocks. */
export interface IndexedProduct {
  product: ProductBody;
  groupId: string | null;
  stocks: Record<string, StockOverride>;
}

// Product API limits (§3.2.2): longer values would be refused for good (a dead letter), so they are
// cut here; the feed keeps the full text and the run report already warns (product.name.too_long).
const NAME_MAX = 120;
const TEXT_MAX = 10_000;
const PATHS_MAX = 100;

function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  let out = s.slice(0, max);
  // Never end on the first half of a surrogate pair.
  const last = out.charCodeAt(out.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return out;
}

function paramsObject(params: Param[]): Record<string, string> | undefined {
  if (params.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const p of params) {
    const value = cut(p.unit === undefined ? p.value : `${p.value} ${p.unit}`, TEXT_MAX);
    // A repeated name (e.g. two colours) keeps every value.
    out[p.name] = p.name in out ? `${out[p.name]}, ${value}` : value;
  }
  return out;
}

function pathsOf(categoryIds: string[], paths: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const id of categoryIds) {
    const p = paths.get(id);
    if (p !== undefined && !out.includes(p)) out.push(p);
    if (out.length === PATHS_MAX) break;
  }
  return out;
}

/** The base record and stock overrides of one offer. */
export function indexedProduct(o: Offer, paths: ReadonlyMap<string, string>): IndexedProduct {
  const product: ProductBody = {
    id: Number(o.id),
    name: cut(o.name, NAME_MAX),
    price: Number(o.price),
    url: o.url,
    pictureUrl: o.picture,
    isAvailable: o.available,
    categoryPaths: pathsOf(o.categoryIds, paths),
  };
  if (o.oldPrice !== null) product.oldPrice = Number(o.oldPrice);
  if (o.description !== null) product.description = cut(o.description, TEXT_MAX);
  if (o.vendor !== null) product.vendor = cut(o.vendor, TEXT_MAX);
  if (o.model !== null) product.model = cut(o.model, TEXT_MAX);
  if (o.typePrefix !== null) product.typePrefix = cut(o.typePrefix, TEXT_MAX);
  const params = paramsObject(o.params);
  if (params) product.params = params;
  const stocks: Record<string, StockOverride> = {};
  for (const st of o.stocks) {
    const s: StockOverride = { isAvailable: st.available ?? o.available };
    if (st.price !== null) s.price = Number(st.price);
    if (st.oldPrice !== null) s.oldPrice = Number(st.oldPrice);
    if (st.url !== null) s.url = st.url;
    if (st.picture !== null) s.pictureUrl = st.picture;
    if (st.name !== null) s.name = cut(st.name, NAME_MAX);
    if (st.description !== null) s.description = cut(st.description, TEXT_MAX);
    stocks[st.id] = s;
  }
  return { product, groupId: o.groupId, stocks };
}

/** The record of a product in one stock: the base record with that stock's overrides. */
export function stockRecord(product: ProductBody, s: StockOverride): ProductBody {
  const r: ProductBody = { ...product, isAvailable: s.isAvailable };
  if (s.price !== undefined) {
    r.price = s.price;
    // The base old price only still makes sense above the stock's own price.
    if (r.oldPrice !== undefined && !(r.oldPrice > s.price)) delete r.oldPrice;
  }
  if (s.oldPrice !== undefined) r.oldPrice = s.oldPrice;
  if (s.url !== undefined) r.url = s.url;
  if (s.pictureUrl !== undefined) r.pictureUrl = s.pictureUrl;
  if (s.name !== undefined) r.name = s.name;
  if (s.description !== undefined) r.description = s.description;
  return r;
}

/** The same record marked unavailable (how a product that left the catalog is told: §3.2.3). */
export function unavailable<T extends { isAvailable: boolean }>(r: T): T {
  return { ...r, isAvailable: false };
}

/**
 * One `productsgroup` record (§3.2.2) from its members, in product id order. Group-level fields come
 * from the first available member (or the first member), the price is the lowest member price.
 */
export function groupRecord(groupId: string, members: ProductBody[]): GroupBody {
  const sorted = [...members].sort((a, b) => a.id - b.id);
  const lead = sorted.find((m) => m.isAvailable) ?? sorted[0];
  const products: Record<string, GroupMember> = {};
  for (const m of sorted) {
    const member: GroupMember = {
      isAvailable: m.isAvailable,
      name: m.name,
      url: m.url,
      pictureUrl: m.pictureUrl,
      price: m.price,
    };
    if (m.oldPrice !== undefined) member.oldPrice = m.oldPrice;
    if (m.description !== undefined) member.description = m.description;
    if (m.params !== undefined) member.params = m.params;
    products[String(m.id)] = member;
  }
  const { id: _id, ...fields } = lead;
  return {
    ...fields,
    groupId: Number(groupId),
    price: Math.min(...sorted.map((m) => m.price)),
    isAvailable: sorted.some((m) => m.isAvailable),
    products,
  };
}

/** JSON with object keys sorted, so that equal records hash equally however they were stored. */
export function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
}

/** Do two JSON values say the same, key order aside (stableJson equality without building the strings)? */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    keys++;
    if (!sameJson(x[k], y[k])) return false;
  }
  for (const k in y) if (y[k] !== undefined) keys--;
  return keys === 0;
}

/** The hash of a record as Retail Rocket would receive it. */
export function recordHash(r: unknown): string {
  return hash('sha1', stableJson(r));
}
