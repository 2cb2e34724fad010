/** §3.2.2: the Product API body rules (product and productsGroup), strict and lenient. */
import { isIdText, isSafeId, type FieldIssue } from './emulator.validation.ts';

export interface ProductFields {
  id: string;
  groupId: string | null;
  name: string;
  price: number;
  oldPrice: number | null;
  url: string;
  pictureUrl: string;
  isAvailable: boolean;
  categoryPaths: string[];
  description: string | null;
  vendor: string | null;
  model: string | null;
  typePrefix: string | null;
  params: Record<string, string>;
}

const OPTIONAL_TEXT = [
  'description',
  'vendor',
  'model',
  'typePrefix',
  'buyUrl',
  'color',
  'size',
  'title',
  'artist',
];
const PRODUCT_KEYS = new Set([
  'id',
  'name',
  'price',
  'oldPrice',
  'url',
  'pictureUrl',
  'isAvailable',
  'categoryPaths',
  'params',
  'stockId',
  ...OPTIONAL_TEXT,
]);
const GROUP_KEYS = new Set([...PRODUCT_KEYS, 'groupId', 'products'].filter((k) => k !== 'id'));
const MEMBER_KEYS = new Set([
  'isAvailable',
  'name',
  'color',
  'size',
  'url',
  'pictureUrl',
  'price',
  'oldPrice',
  'description',
  'params',
  'stockId',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const absUrl = (v: unknown) =>
  typeof v === 'string' && v.length <= 512 && URL.canParse(v) && /^https?:$/.test(new URL(v).protocol);

class Checker {
  readonly issues: FieldIssue[] = [];
  constructor(readonly strict: boolean) {}

  fail(field: string, rule: string, message: string): undefined {
    this.issues.push({ field, rule, message: `${field} ${message}` });
    return undefined;
  }

  number(v: unknown, field: string, positive: boolean): number | undefined {
    const n = !this.strict && typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || (positive ? n <= 0 : n < 0)) {
      return this.fail(
        field,
        positive ? 'number_gt_0' : 'number_gte_0',
        positive ? 'must be a number > 0' : 'must be a number >= 0',
      );
    }
    return n;
  }

  text(v: unknown, field: string, max: number): string | undefined {
    if (typeof v !== 'string' || v.length === 0)
      return this.fail(field, 'string', 'must be a non-empty string');
    if (v.length > max) return this.fail(field, `max_length_${max}`, `must be at most ${max} characters`);
    return v;
  }

  url(v: unknown, field: string): string | undefined {
    return absUrl(v)
      ? (v as string)
      : this.fail(field, 'absolute_url', 'must be an absolute http(s) URL of at most 512 characters');
  }

  bool(v: unknown, field: string): boolean | undefined {
    if (typeof v === 'boolean') return v;
    if (!this.strict && (v === 'true' || v === 'false')) return v === 'true';
    return this.fail(field, 'boolean', 'must be true or false (JSON boolean, lowercase)');
  }

  paths(v: unknown, field: string): string[] | undefined {
    const arr = !this.strict && typeof v === 'string' ? [v] : v;
    if (!Array.isArray(arr) || arr.length === 0)
      return this.fail(field, 'string_array', 'must be a non-empty array of category paths');
    for (const p of arr) {
      if (typeof p !== 'string' || p.split('/').some((s) => s.trim() === '')) {
        return this.fail(field, 'category_path', 'must hold full paths like Women/Clothes/Skirts');
      }
    }
    return arr as string[];
  }

  params(v: unknown, field: string, extra: Obj): Record<string, string> {
    const out: Record<string, string> = {};
    if (v !== undefined && v !== null) {
      if (!isObj(v)) {
        this.fail(field, 'object', 'must be an object of string values');
      } else {
        for (const [k, val] of Object.entries(v)) {
          if (typeof val === 'string') out[k] = val;
          else if (!this.strict && (typeof val === 'number' || typeof val === 'boolean'))
            out[k] = String(val);
          else this.fail(`${field}.${k}`, 'string', 'must be a string');
        }
      }
    }
    // Lenient: unknown top-level keys become params, as Retail Rocket's SDK does.
    for (const [k, val] of Object.entries(extra))
      out[k] ??= typeof val === 'string' ? val : JSON.stringify(val);
    return out;
  }
}

function splitUnknown(c: Checker, body: Obj, allowed: Set<string>, prefix: string): Obj {
  const extra: Obj = {};
  for (const [k, v] of Object.entries(body)) {
    if (allowed.has(k)) continue;
    if (c.strict) c.fail(`${prefix}${k}`, 'unknown_field', 'is not a Product API field');
    else extra[k] = v;
  }
  return extra;
}

const optText = (c: Checker, v: unknown, field: string) =>
  v === undefined || v === null ? null : (c.text(v, field, 10_000) ?? null);

function readProduct(
  c: Checker,
  body: Obj,
  base: Partial<ProductFields>,
  prefix: string,
  extra: Obj,
): Partial<ProductFields> {
  const f = (k: string) => `${prefix}${k}`;
  const pick = <T>(k: string, read: (v: unknown) => T | undefined, fallback: T | undefined): T | undefined =>
    body[k] === undefined
      ? fallback === undefined && !prefix
        ? (c.fail(f(k), 'required', 'is required') as T | undefined)
        : fallback
      : read(body[k]);
  const params = c.params(body.params, f('params'), extra);
  for (const k of ['color', 'size', 'buyUrl', 'title', 'artist'])
    if (typeof body[k] === 'string') params[k] = body[k] as string;
  return {
    name: pick('name', (v) => c.text(v, f('name'), 120), base.name),
    price: pick('price', (v) => c.number(v, f('price'), true), base.price),
    url: pick('url', (v) => c.url(v, f('url')), base.url),
    pictureUrl: pick('pictureUrl', (v) => c.url(v, f('pictureUrl')), base.pictureUrl),
    isAvailable: pick('isAvailable', (v) => c.bool(v, f('isAvailable')), base.isAvailable),
    categoryPaths: prefix
      ? base.categoryPaths
      : pick('categoryPaths', (v) => c.paths(v, f('categoryPaths')), undefined),
    oldPrice:
      body.oldPrice === undefined || body.oldPrice === null
        ? (base.oldPrice ?? null)
        : (c.number(body.oldPrice, f('oldPrice'), true) ?? null),
    description:
      body.description === undefined
        ? (base.description ?? null)
        : optText(c, body.description, f('description')),
    vendor: base.vendor ?? optText(c, body.vendor, f('vendor')),
    model: base.model ?? optText(c, body.model, f('model')),
    typePrefix: base.typePrefix ?? optText(c, body.typePrefix, f('typePrefix')),
    params: { ...(base.params ?? {}), ...params },
  };
}

function readStock(c: Checker, body: Obj, queryStock: string | null, field: string): string | null {
  const given = body.stockId;
  let fromBody: string | null = null;
  if (given !== undefined && given !== null) {
    const s = !c.strict && typeof given === 'number' ? String(given) : given;
    fromBody = c.text(s, field, 50) ?? null;
  }
  if (queryStock !== null) {
    if (queryStock.length === 0 || queryStock.length > 50)
      c.fail('stockId', 'max_length_50', 'must be 1-50 characters');
    if (c.strict && fromBody !== null && fromBody !== queryStock)
      c.fail(field, 'matches_query', 'must equal the stockId query parameter');
    return queryStock;
  }
  return fromBody;
}

export interface ProductBodyCheck {
  issues: FieldIssue[];
  products: ProductFields[];
  stockId: string | null;
}

/** Validates a product or group body; `pathId` is the id in the URL, which the body must repeat. */
export function validateProductBody(
  kind: 'product' | 'group',
  body: unknown,
  pathId: string,
  queryStock: string | null,
  strict: boolean,
): ProductBodyCheck {
  const c = new Checker(strict);
  if (!isObj(body)) {
    c.fail('body', 'object', 'must be a JSON object');
    return { issues: c.issues, products: [], stockId: null };
  }
  const idKey = kind === 'product' ? 'id' : 'groupId';
  const given = body[idKey];
  if (given === undefined) {
    if (strict) c.fail(idKey, 'required', 'is required');
  } else if (!isSafeId(given, strict)) {
    c.fail(idKey, 'integer_id', 'must be an integer from 0 to 9007199254740991');
  } else if (String(given) !== pathId) {
    c.fail(idKey, 'matches_path', `must equal the id in the URL (${pathId})`);
  }
  const extra = splitUnknown(c, body, kind === 'product' ? PRODUCT_KEYS : GROUP_KEYS, '');
  const stockId = readStock(c, body, queryStock, 'stockId');
  const top = readProduct(c, body, {}, '', extra);
  const products: Partial<ProductFields>[] = [];
  if (kind === 'product') {
    products.push({ ...top, id: pathId, groupId: null });
  } else if (!isObj(body.products) || Object.keys(body.products).length === 0) {
    c.fail('products', 'object', 'must be an object keyed by product id');
  } else {
    for (const [id, member] of Object.entries(body.products)) {
      const prefix = `products.${id}.`;
      if (!isIdText(id)) c.fail(`products.${id}`, 'integer_id', 'key must be an integer product id');
      if (!isObj(member)) {
        c.fail(`products.${id}`, 'object', 'must be an object');
        continue;
      }
      const memberExtra = splitUnknown(c, member, MEMBER_KEYS, prefix);
      if (member.stockId !== undefined && strict && stockId !== null && String(member.stockId) !== stockId) {
        c.fail(`${prefix}stockId`, 'matches_query', 'must equal the group stockId');
      }
      products.push({ ...readProduct(c, member, top, prefix, memberExtra), id, groupId: pathId });
    }
  }
  return { issues: c.issues, products: c.issues.length > 0 ? [] : (products as ProductFields[]), stockId };
}
