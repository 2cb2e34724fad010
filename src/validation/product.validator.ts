import { P, S, type ProductGroup } from '../catalog/catalog.reader.ts';
import type { CopyRow } from '../catalog/copy-text.ts';
import type { ReasonCode } from './validation.codes.ts';
import type { RunReport } from './validation.report.ts';
import {
  checkId,
  checkPrice,
  checkUrl,
  codePointLength,
  compareDecimal,
  parseBool,
  sanitizeText,
} from './validation.rules.ts';

export interface Param {
  name: string;
  value: string;
  unit?: string;
}

export interface StockBlock {
  id: string;
  available: boolean | null;
  price: string | null;
  oldPrice: string | null;
  url: string | null;
  picture: string | null;
  name: string | null;
  description: string | null;
}

/** A product that passed every rule, cleaned: what the feed writer and the pusher consume. */
export interface Offer {
  id: string;
  groupId: string | null;
  available: boolean;
  url: string;
  price: string;
  oldPrice: string | null;
  categoryIds: string[];
  picture: string;
  name: string;
  vendor: string | null;
  model: string | null;
  typePrefix: string | null;
  description: string | null;
  params: Param[];
  stocks: StockBlock[];
}

export interface ValidationContext {
  categories: Set<string>;
  warehouses: Set<string>;
  groupIdCollisions: Set<string>;
  report: RunReport;
}

const TEXT_FIELDS = ['name', 'vendor', 'model', 'type_prefix', 'description'] as const;

function parseList(value: string | null): string[] | null {
  if (value === null) return [];
  const v = value.trim();
  if (v === '') return [];
  if (v.startsWith('[')) {
    try {
      const arr: unknown = JSON.parse(v);
      if (!Array.isArray(arr)) return null;
      return arr.map((x) => (x === null ? '' : String(x)));
    } catch {
      return null;
    }
  }
  if (v.startsWith('{')) return v.slice(1, -1).split(',').map((s) => s.trim().replace(/^"|"$/g, ''));
  return v.split(/[\s,;]+/).filter(Boolean);
}

function scalarText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** params: an array of {name, value, unit?} or an object name -> value (design §3). */
function parseParams(value: string | null): { params: Param[]; bad: boolean } {
  if (value === null || value.trim() === '') return { params: [], bad: false };
  let data: unknown;
  try {
    data = JSON.parse(value);
  } catch {
    return { params: [], bad: true };
  }
  const params: Param[] = [];
  let bad = false;
  const push = (name: unknown, val: unknown, unit?: unknown) => {
    const n = scalarText(name)?.trim();
    const v = scalarText(val);
    const u = unit === undefined || unit === null ? undefined : scalarText(unit)?.trim();
    if (!n || v === null || (unit !== undefined && unit !== null && !u)) {
      bad = true;
      return;
    }
    params.push(u ? { name: n, value: v, unit: u } : { name: n, value: v });
  };
  if (Array.isArray(data)) {
    for (const p of data) {
      if (p && typeof p === 'object' && !Array.isArray(p)) {
        const o = p as Record<string, unknown>;
        push(o.name, o.value, o.unit);
      } else bad = true;
    }
  } else if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      if (v === null) continue;
      push(k, v);
    }
  } else if (data !== null) bad = true;
  return { params, bad };
}

/**
 * Apply design §4 to all rows of one product id. Returns the cleaned offer, or null when the
 * product is left out; every problem goes to the report with its reason code.
 */
export function validateProduct(group: ProductGroup, ctx: ValidationContext): Offer | null {
  const { report } = ctx;
  const row = group.rows[0];
  const rawId = row[P.id];
  const idProblem = checkId(rawId);
  if (idProblem) {
    for (const r of group.rows) {
      report.add({ code: `product.id.${idProblem}` as ReasonCode, entity: 'product', id: r[P.id], field: 'id', value: r[P.id] });
    }
    return null;
  }
  const id = rawId!;
  if (group.rows.length > 1) {
    for (let i = 0; i < group.rows.length; i++) {
      report.add({ code: 'product.id.duplicate', entity: 'product', id, field: 'id', value: `row ${i + 1} of ${group.rows.length}` });
    }
    return null;
  }
  const errors: ReasonCode[] = [];
  const fail = (code: ReasonCode, field: string, value?: string | null) => {
    errors.push(code);
    report.add({ code, entity: 'product', id, field, value });
  };
  const warn = (code: ReasonCode, field: string, value?: string | null) =>
    report.add({ code, entity: 'product', id, field, value });

  const groupId = row[P.groupId];
  if (groupId !== null) {
    const gp = checkId(groupId);
    if (gp) fail('product.group_id.invalid', 'group_id', groupId);
    else if (ctx.groupIdCollisions.has(groupId)) warn('group.id_is_product_id', 'group_id', groupId);
  }

  const text: Record<(typeof TEXT_FIELDS)[number], string | null> = {
    name: row[P.name],
    vendor: row[P.vendor],
    model: row[P.model],
    type_prefix: row[P.typePrefix],
    description: row[P.description],
  };
  for (const f of TEXT_FIELDS) {
    const v = text[f];
    if (v === null) continue;
    const clean = sanitizeText(v);
    if (clean.changed) warn('product.text.invalid_chars', f);
    const t = clean.text.trim();
    text[f] = t === '' ? null : t;
  }
  if (text.name === null) fail('product.name.missing', 'name');
  else if (codePointLength(text.name) > 120) warn('product.name.too_long', 'name', text.name);

  const url = row[P.url];
  const urlProblem = checkUrl(url);
  if (urlProblem) fail(`product.url.${urlProblem}` as ReasonCode, 'url', url);
  const picture = row[P.picture];
  const picProblem = checkUrl(picture);
  if (picProblem) fail(`product.picture.${picProblem}` as ReasonCode, 'picture_url', picture);

  const price = checkPrice(row[P.price]);
  if ('problem' in price) fail(`product.price.${price.problem}` as ReasonCode, 'price', row[P.price]);

  const available = parseBool(row[P.available]);
  if (available === null || available === undefined) fail('product.available.invalid', 'available', row[P.available]);

  const listed = parseList(row[P.categoryIds]);
  const categoryIds: string[] = [];
  if (listed === null || listed.length === 0) {
    fail('product.category.missing', 'category_ids', row[P.categoryIds]);
  } else {
    for (const c of listed) {
      if (ctx.categories.has(c)) {
        if (!categoryIds.includes(c)) categoryIds.push(c);
      } else warn('product.category.unknown', 'category_ids', c);
    }
    if (categoryIds.length === 0) fail('product.category.none_valid', 'category_ids', row[P.categoryIds]);
  }

  if (errors.length > 0 || 'problem' in price) return null;

  let oldPrice: string | null = null;
  const rawOld = row[P.oldPrice];
  if (rawOld !== null && rawOld.trim() !== '') {
    const op = checkPrice(rawOld);
    if ('problem' in op) {
      if (op.problem === 'not_positive') warn('product.old_price.not_greater', 'old_price', rawOld);
      else warn('product.old_price.invalid', 'old_price', rawOld);
    } else if (compareDecimal(op.price, price.price) <= 0) warn('product.old_price.not_greater', 'old_price', rawOld);
    else oldPrice = op.price;
  }

  const { params, bad } = parseParams(row[P.params]);
  if (bad) warn('product.params.invalid', 'params', row[P.params]);
  const cleanParams: Param[] = [];
  let paramsChanged = false;
  for (const p of params) {
    const n = sanitizeText(p.name);
    const v = sanitizeText(p.value);
    const u = p.unit === undefined ? undefined : sanitizeText(p.unit);
    paramsChanged ||= n.changed || v.changed || Boolean(u?.changed);
    cleanParams.push(u ? { name: n.text, value: v.text, unit: u.text } : { name: n.text, value: v.text });
  }
  if (paramsChanged) warn('product.text.invalid_chars', 'params');

  return {
    id,
    groupId,
    available: available as boolean,
    url: url!,
    price: price.price,
    oldPrice,
    categoryIds,
    picture: picture!,
    name: text.name!,
    vendor: text.vendor,
    model: text.model,
    typePrefix: text.type_prefix,
    description: text.description,
    params: cleanParams,
    stocks: validateStocks(id, price.price, group.stocks, ctx),
  };
}

function validateStocks(productId: string, productPrice: string, rows: CopyRow[], ctx: ValidationContext): StockBlock[] {
  if (rows.length === 0) return [];
  const { report } = ctx;
  const blocks: StockBlock[] = [];
  const perWarehouse = new Map<string, number>();
  for (const r of rows) {
    const w = r[S.warehouseId];
    if (w !== null) perWarehouse.set(w, (perWarehouse.get(w) ?? 0) + 1);
  }
  for (const r of rows) {
    const wid = r[S.warehouseId];
    const fail = (code: ReasonCode, field: string, value?: string | null) =>
      report.add({ code, entity: 'stock', id: productId, warehouseId: wid, field, value });
    if (wid === null || !ctx.warehouses.has(wid)) {
      fail('stock.unknown_warehouse', 'warehouse_id', wid);
      continue;
    }
    if (perWarehouse.get(wid)! > 1) {
      fail('stock.duplicate', 'warehouse_id', wid);
      continue;
    }
    const available = parseBool(r[S.available]);
    if (available === undefined) {
      fail('stock.available.invalid', 'available', r[S.available]);
      continue;
    }
    let price: string | null = null;
    if (r[S.price] !== null) {
      const p = checkPrice(r[S.price]);
      if ('problem' in p) {
        fail('stock.price.invalid', 'price', r[S.price]);
        continue;
      }
      price = p.price;
    }
    const url = r[S.url];
    if (url !== null && checkUrl(url) !== null) {
      fail('stock.url.invalid', 'url', url);
      continue;
    }
    const picture = r[S.picture];
    if (picture !== null && checkUrl(picture) !== null) {
      fail('stock.picture.invalid', 'picture_url', picture);
      continue;
    }
    let oldPrice: string | null = null;
    if (r[S.oldPrice] !== null) {
      const op = checkPrice(r[S.oldPrice]);
      if (!('problem' in op) && compareDecimal(op.price, price ?? productPrice) > 0) oldPrice = op.price;
      else fail('stock.old_price.not_greater', 'old_price', r[S.oldPrice]);
    }
    let name = r[S.name];
    let description = r[S.description];
    for (const [field, v] of [
      ['name', name],
      ['description', description],
    ] as const) {
      if (v === null) continue;
      const clean = sanitizeText(v);
      if (clean.changed) fail('stock.text.invalid_chars', field);
      const t = clean.text.trim() || null;
      if (field === 'name') name = t;
      else description = t;
    }
    blocks.push({ id: wid, available, price, oldPrice, url, picture, name, description });
  }
  return blocks;
}
