import {
  categoryPathToRoot,
  effectiveItem,
  type CatalogItem,
  type StockOverride,
} from './emulator.catalog.ts';
import { authenticate, methodNotAllowed, type AppContext } from './emulator.context.ts';
import { HttpError, parseJsonBody, queryParam, sendJson, type Exchange } from './emulator.http.ts';
import { validateProductBody, type ProductFields } from './emulator.product-schema.ts';
import type { PartnerState } from './emulator.state.ts';
import { firstIssueBody, parseIdList, isIdText } from './emulator.validation.ts';

const MAX_UPSERTS_KEPT = 10_000;
const MAX_PRODUCT_CALLS = 200_000;
const PRODUCT_PATH = /^\/api\/1\.0\/partner\/([^/]+)\/(products|productsgroup)\/([^/]+)\/?$/i;
const ITEMS_PATH = /^\/api\/1\.0\/partner\/([^/]+)\/items\/?$/i;

/** Product API (§3.2) and items lookup (§3.3). Returns false when the path is not theirs. */
export async function handleProducts(ctx: AppContext, ex: Exchange): Promise<boolean> {
  const items = ITEMS_PATH.exec(ex.path);
  if (items) {
    itemsLookup(ctx, ex, decodeURIComponent(items[1] as string));
    return true;
  }
  const m = PRODUCT_PATH.exec(ex.path);
  if (!m) return false;
  if (ex.method !== 'POST') throw methodNotAllowed('POST');
  const partnerId = decodeURIComponent(m[1] as string);
  const kind = (m[2] as string).toLowerCase() === 'products' ? 'product' : 'group';
  const pathId = decodeURIComponent(m[3] as string);
  const partner = productApiPartner(ctx, ex, partnerId);
  ctx.limiter.admit(partner.partnerId, 'other');
  const idField = kind === 'product' ? 'productId' : 'groupId';
  if (!isIdText(pathId)) {
    throw new HttpError(
      400,
      firstIssueBody([
        { field: idField, rule: 'integer_id', message: `${idField} in the path must be an integer id` },
      ]),
    );
  }
  const body = parseJsonBody(ex, ctx.strict);
  const queryStock = queryParam(ex.url, 'stockId');
  const checked = validateProductBody(kind, body, pathId, queryStock, ctx.strict);
  if (checked.issues.length > 0) throw new HttpError(400, firstIssueBody(checked.issues));
  const ids = upsert(ctx, partner, checked.products, checked.stockId);
  partner.upserts.push({
    seq: ctx.state.nextSeq(),
    partnerId: partner.partnerId,
    kind,
    id: pathId,
    stockId: checked.stockId,
    receivedAt: new Date().toISOString(),
    productIds: ids,
    body,
  });
  if (partner.upserts.length > MAX_UPSERTS_KEPT) partner.upserts.shift();
  const key = bodyKey(kind, pathId, checked.stockId);
  partner.productBodies.set(key, { seq: ctx.state.nextSeq(), receivedAt: new Date().toISOString(), body });
  sendJson(ex.res, 200, {});
  return true;
}

/** The same keys as the service's outbox (src/sync/sync.contracts.ts itemKey). */
function bodyKey(kind: 'product' | 'group', id: string, stockId: string | null): string {
  if (kind === 'group') return stockId === null ? `group:${id}` : `group:${id}:${stockId}`;
  return stockId === null ? `product:${id}` : `stock:${id}:${stockId}`;
}

/**
 * Logs one Product API call after its answer (or drop), whatever answered it: a route, a fault or
 * an error. Only the path and stockId are kept, never the query (it carries the apiKey).
 */
export function recordProductCall(
  ctx: AppContext,
  call: { path: string; url: URL; receivedAt: Date; status: number },
): void {
  const m = PRODUCT_PATH.exec(call.path);
  if (!m) return;
  const calls = ctx.state.productCalls;
  calls.push({
    seq: ctx.state.nextSeq(),
    partnerId: decodeURIComponent(m[1] as string),
    kind: (m[2] as string).toLowerCase() === 'products' ? 'product' : 'group',
    id: decodeURIComponent(m[3] as string),
    stockId: queryParam(call.url, 'stockId'),
    receivedAt: call.receivedAt.toISOString(),
    answeredAt: new Date().toISOString(),
    status: call.status,
  });
  if (calls.length > MAX_PRODUCT_CALLS) calls.splice(0, calls.length - MAX_PRODUCT_CALLS);
}

/**
 * The partner must be configured. A given apiKey must be right (401 otherwise); a missing one is
 * accepted like the SDK's public posts unless `productApiAllowMissingKey` is switched off.
 */
function productApiPartner(ctx: AppContext, ex: Exchange, partnerId: string): PartnerState {
  if (queryParam(ex.url, 'apiKey') !== null || !ctx.behaviour.productApiAllowMissingKey) {
    return authenticate(ctx, ex, partnerId);
  }
  const partner = ctx.state.partner(partnerId);
  if (!partner) throw new HttpError(401, { error: 'unauthorized', message: 'unknown partnerId' });
  return partner;
}

function toOverride(p: ProductFields): StockOverride {
  const o: StockOverride = {
    available: p.isAvailable,
    price: p.price,
    url: p.url,
    picture: p.pictureUrl,
    name: p.name,
  };
  if (p.oldPrice !== null) o.oldPrice = p.oldPrice;
  if (p.description !== null) o.description = p.description;
  return o;
}

/** Upsert of the full record (omitted optional fields are cleared); with a stock, only that stock's overrides. */
function upsert(
  ctx: AppContext,
  partner: PartnerState,
  products: ProductFields[],
  stockId: string | null,
): string[] {
  const catalog = partner.catalog;
  for (const p of products) {
    const existing = catalog.items.get(p.id);
    if (existing && stockId !== null) {
      existing.stocks.set(stockId, toOverride(p));
    } else {
      const item: CatalogItem = {
        id: p.id,
        groupId: p.groupId,
        available: p.isAvailable,
        name: p.name,
        url: p.url,
        picture: p.pictureUrl,
        price: p.price,
        oldPrice: p.oldPrice,
        categoryIds: existing?.categoryIds ?? [],
        categoryPaths: p.categoryPaths,
        vendor: p.vendor,
        model: p.model,
        typePrefix: p.typePrefix,
        description: p.description,
        params: p.params,
        stocks: existing?.stocks ?? new Map(),
        seq: existing?.seq ?? catalog.nextSeq++,
        source: 'product_api',
      };
      if (stockId !== null) item.stocks.set(stockId, toOverride(p));
      catalog.items.set(p.id, item);
    }
    catalog.removed.delete(p.id);
  }
  if (stockId !== null) catalog.stocks.add(stockId);
  partner.version += 1;
  ctx.logger.debug(
    { partnerId: partner.partnerId, ids: products.map((p) => p.id), stockId },
    'product upsert',
  );
  return products.map((p) => p.id);
}

const num = (id: string | null) => (id === null ? null : Number(id));

/** Public items lookup: PascalCase objects of the known ids, in the order asked (§3.3, §5.2.3). */
function itemsLookup(ctx: AppContext, ex: Exchange, partnerId: string): void {
  const origin = ex.headers.origin;
  const cors: Record<string, string> = origin
    ? {
        'access-control-allow-origin': String(origin),
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      }
    : { 'access-control-allow-origin': '*' };
  if (ex.method === 'OPTIONS') {
    ex.res.writeHead(204, {
      ...cors,
      'access-control-allow-methods': 'GET, OPTIONS',
      'access-control-max-age': '600',
    });
    ex.res.end();
    return;
  }
  if (ex.method !== 'GET' && ex.method !== 'HEAD') throw methodNotAllowed('GET');
  const partner = ctx.state.partner(partnerId);
  if (!partner) throw new HttpError(404, { error: 'not_found', message: 'unknown partnerId' }, cors);
  ctx.limiter.admit(partner.partnerId, 'other');
  const { ids, issue } = parseIdList(queryParam(ex.url, 'itemsIds'), 'itemsIds', true);
  if (issue) throw new HttpError(400, firstIssueBody([issue]), cors);
  const stock = queryParam(ex.url, 'stock') ?? undefined;
  const catalog = partner.catalog;
  const out: Record<string, unknown>[] = [];
  for (const id of new Set(ids)) {
    const item = catalog.items.get(id);
    if (!item) continue;
    const eff = effectiveItem(item, stock, ctx.behaviour.stockMissingMeans);
    out.push({
      ItemId: Number(item.id),
      Name: eff.name,
      Price: eff.price,
      OldPrice: eff.oldPrice ?? 0,
      PictureUrl: eff.picture,
      Url: eff.url,
      BuyUrl: null,
      IsAvailable: eff.available,
      GroupId: num(item.groupId),
      Vendor: item.vendor,
      Model: item.model,
      TypePrefix: item.typePrefix,
      Description: eff.description,
      CategoryIds: item.categoryIds.map(Number),
      CategoryPathsToRoot: item.categoryIds.map((c) => categoryPathToRoot(catalog, c).map(Number)),
      CategoryNames: item.categoryIds.map((c) => catalog.categories.get(c)?.name ?? ''),
      CategoryPaths: item.categoryPaths,
      Params: item.params,
      Modification: [],
      Size: item.params.size ?? null,
      Color: item.params.color ?? null,
      Regions: item.stocks.size > 0 ? [...item.stocks.keys()] : null,
    });
  }
  sendJson(ex.res, 200, out, cors);
}
