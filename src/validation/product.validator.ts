import { P, S, type CopyRow, type ProductGroup } from '../catalog/catalog.rows.ts';
import type { ReasonCode } from './validation.codes.ts';
import type { RunReport } from './validation.report.ts';
import {
  checkId,
  checkPrice,
  checkUrl,
  codePointLength,
  cleanedOrNull,
  compareDecimal,
  parseBool,
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
  if (v.startsWith('{'))
    return v
      .slice(1, -1)
      .split(',')
      .map((s) => s.trim().replace(/^"|"$/g, ''));
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
  if (Array.isArray(data)) {
    for (const p of data) {
      if (p && typeof p === 'object' && !Array.isArray(p)) {
        const o = p as Record<string, unknown>;
        if (!pushParam(params, o.name, o.value, o.unit)) bad = true;
      } else bad = true;
    }
  } else if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      if (v === null) continue;
      if (!pushParam(params, k, v, undefined)) bad = true;
    }
  } else if (data !== null) bad = true;
  return { params, bad };
}

function pushParam(params: Param[], name: unknown, val: unknown, unit: unknown): boolean {
  const n = scalarText(name)?.trim();
  const v = scalarText(val);
  const u = unit === undefined || unit === null ? undefined : scalarText(unit)?.trim();
  if (!n || v === null || (unit !== undefined && unit !== null && !u)) return false;
  params.push(u ? { name: n, value: v, unit: u } : { name: n, value: v });
  return true;
}

/** Trimmed text with XML-forbidden characters removed (reported once per field), or null. */
function cleanText(report: RunReport, id: string, field: string, value: string | null): string | null {
  if (value === null) return null;
  const cleaned = cleanedOrNull(value);
  if (cleaned !== null) report.add({ code: 'product.text.invalid_chars', entity: 'product', id, field });
  const t = (cleaned ?? value).trim();
  return t === '' ? null : t;
}

function issue(report: RunReport, code: ReasonCode, id: string, field: string, value?: string | null): void {
  report.add({ code, entity: 'product', id, field, value });
}

/**
 * Apply design §4 to all rows of one product id. Returns the cleaned offer, or null when the
 * product is left out; every problem goes to the report with its reason code. (Hot path: one call
 * per product, so no closures or per-call objects beyond the offer itself.)
 */
export function validateProduct(group: ProductGroup, ctx: ValidationContext): Offer | null {
  const { report } = ctx;
  const row = group.rows[0];
  const rawId = row[P.id];
  const idProblem = checkId(rawId);
  if (idProblem) {
    for (const r of group.rows) {
      report.add({
        code: `product.id.${idProblem}` as ReasonCode,
        entity: 'product',
        id: r[P.id],
        field: 'id',
        value: r[P.id],
      });
    }
    return null;
  }
  const id = rawId!;
  if (group.rows.length > 1) {
    for (let i = 0; i < group.rows.length; i++) {
      issue(report, 'product.id.duplicate', id, 'id', `row ${i + 1} of ${group.rows.length}`);
    }
    return null;
  }
  let errors = 0;

  // An empty group_id means "no group", like NULL: views often turn NULL into ''.
  const rawGroup = row[P.groupId];
  const groupId = rawGroup === null || rawGroup.trim() === '' ? null : rawGroup;
  if (groupId !== null) {
    if (checkId(groupId)) {
      issue(report, 'product.group_id.invalid', id, 'group_id', groupId);
      errors++;
    } else if (ctx.groupIdCollisions.has(groupId))
      issue(report, 'group.id_is_product_id', id, 'group_id', groupId);
  }

  const name = cleanText(report, id, 'name', row[P.name]);
  if (name === null) {
    issue(report, 'product.name.missing', id, 'name');
    errors++;
  } else if (name.length > 120 && codePointLength(name) > 120)
    issue(report, 'product.name.too_long', id, 'name', name);

  const url = row[P.url];
  const urlProblem = checkUrl(url);
  if (urlProblem) {
    issue(report, `product.url.${urlProblem}` as ReasonCode, id, 'url', url);
    errors++;
  }
  const picture = row[P.picture];
  const picProblem = checkUrl(picture);
  if (picProblem) {
    issue(report, `product.picture.${picProblem}` as ReasonCode, id, 'picture_url', picture);
    errors++;
  }

  const price = checkPrice(row[P.price]);
  if ('problem' in price) {
    // A zero or negative decimal is reported in canonical form ("0", not "0.00000000000000000000").
    issue(
      report,
      `product.price.${price.problem}` as ReasonCode,
      id,
      'price',
      price.canonical ?? row[P.price],
    );
    errors++;
  }

  const available = parseBool(row[P.available]);
  if (available === null || available === undefined) {
    issue(report, 'product.available.invalid', id, 'available', row[P.available]);
    errors++;
  }

  const listed = parseList(row[P.categoryIds]);
  const categoryIds: string[] = [];
  if (listed === null || listed.length === 0) {
    issue(report, 'product.category.missing', id, 'category_ids', row[P.categoryIds]);
    errors++;
  } else {
    for (const c of listed) {
      if (ctx.categories.has(c)) {
        if (!categoryIds.includes(c)) categoryIds.push(c);
      } else issue(report, 'product.category.unknown', id, 'category_ids', c);
    }
    if (categoryIds.length === 0) {
      issue(report, 'product.category.none_valid', id, 'category_ids', row[P.categoryIds]);
      errors++;
    }
  }

  if (errors > 0 || 'problem' in price) return null;

  let oldPrice: string | null = null;
  const rawOld = row[P.oldPrice];
  if (rawOld !== null && rawOld.trim() !== '') {
    const op = checkPrice(rawOld);
    if ('problem' in op) {
      issue(
        report,
        op.problem === 'not_positive' ? 'product.old_price.not_greater' : 'product.old_price.invalid',
        id,
        'old_price',
        op.canonical ?? rawOld,
      );
    } else if (compareDecimal(op.price, price.price) <= 0)
      issue(report, 'product.old_price.not_greater', id, 'old_price', op.price);
    else oldPrice = op.price;
  }

  const parsed = parseParams(row[P.params]);
  let { params, bad } = parsed;
  let paramsChanged = false;
  let emptied = false;
  for (const p of params) {
    const n = cleanedOrNull(p.name);
    const v = cleanedOrNull(p.value);
    const u = p.unit === undefined ? null : cleanedOrNull(p.unit);
    if (n !== null || v !== null || u !== null) {
      paramsChanged = true;
      if (n !== null) p.name = n.trim();
      if (v !== null) p.value = v;
      if (u !== null) p.unit = u.trim();
      // Only removed characters left: blank, a bad entry like any other (else `<param name="">`).
      if (p.name === '' || p.unit === '') emptied = true;
    }
  }
  if (emptied) {
    params = params.filter((p) => p.name !== '' && p.unit !== '');
    bad = true;
  }
  if (bad) issue(report, 'product.params.invalid', id, 'params', row[P.params]);
  if (paramsChanged) issue(report, 'product.text.invalid_chars', id, 'params');

  return {
    id,
    groupId,
    available: available as boolean,
    url: url!,
    price: price.price,
    oldPrice,
    categoryIds,
    picture: picture!,
    name: name!,
    vendor: cleanText(report, id, 'vendor', row[P.vendor]),
    model: cleanText(report, id, 'model', row[P.model]),
    typePrefix: cleanText(report, id, 'type_prefix', row[P.typePrefix]),
    description: cleanText(report, id, 'description', row[P.description]),
    params,
    stocks: group.stocks.length === 0 ? [] : validateStocks(id, price.price, group.stocks, ctx),
  };
}

function stockIssue(
  report: RunReport,
  code: ReasonCode,
  productId: string,
  warehouseId: string | null,
  field: string,
  value?: string | null,
) {
  report.add({ code, entity: 'stock', id: productId, warehouseId, field, value });
}

function cleanStockText(
  report: RunReport,
  productId: string,
  wid: string,
  field: string,
  value: string | null,
): string | null {
  if (value === null) return null;
  const cleaned = cleanedOrNull(value);
  if (cleaned !== null) stockIssue(report, 'stock.text.invalid_chars', productId, wid, field);
  return (cleaned ?? value).trim() || null;
}

function validateStocks(
  productId: string,
  productPrice: string,
  rows: CopyRow[],
  ctx: ValidationContext,
): StockBlock[] {
  const { report } = ctx;
  const blocks: StockBlock[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const wid = r[S.warehouseId];
    if (wid === null || !ctx.warehouses.has(wid)) {
      stockIssue(report, 'stock.unknown_warehouse', productId, wid, 'warehouse_id', wid);
      continue;
    }
    // Rows are ordered by warehouse id, so a repeated warehouse is next to its twin.
    if (
      (i > 0 && rows[i - 1][S.warehouseId] === wid) ||
      (i + 1 < rows.length && rows[i + 1][S.warehouseId] === wid)
    ) {
      stockIssue(report, 'stock.duplicate', productId, wid, 'warehouse_id', wid);
      continue;
    }
    const available = parseBool(r[S.available]);
    if (available === undefined) {
      stockIssue(report, 'stock.available.invalid', productId, wid, 'available', r[S.available]);
      continue;
    }
    let price: string | null = null;
    if (r[S.price] !== null) {
      const p = checkPrice(r[S.price]);
      if ('problem' in p) {
        stockIssue(report, 'stock.price.invalid', productId, wid, 'price', p.canonical ?? r[S.price]);
        continue;
      }
      price = p.price;
    }
    const url = r[S.url];
    if (url !== null && checkUrl(url) !== null) {
      stockIssue(report, 'stock.url.invalid', productId, wid, 'url', url);
      continue;
    }
    const picture = r[S.picture];
    if (picture !== null && checkUrl(picture) !== null) {
      stockIssue(report, 'stock.picture.invalid', productId, wid, 'picture_url', picture);
      continue;
    }
    let oldPrice: string | null = null;
    if (r[S.oldPrice] !== null) {
      const op = checkPrice(r[S.oldPrice]);
      if ('price' in op && compareDecimal(op.price, price ?? productPrice) > 0) oldPrice = op.price;
      else {
        const shown = 'price' in op ? op.price : (op.canonical ?? r[S.oldPrice]);
        stockIssue(report, 'stock.old_price.not_greater', productId, wid, 'old_price', shown);
      }
    }
    blocks.push({
      id: wid,
      available,
      price,
      oldPrice,
      url,
      picture,
      name: cleanStockText(report, productId, wid, 'name', r[S.name]),
      description: cleanStockText(report, productId, wid, 'description', r[S.description]),
    });
  }
  return blocks;
}
