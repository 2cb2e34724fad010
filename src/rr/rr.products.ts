import type { RrResult } from './rr.errors.ts';
import type { HttpResponse } from './rr.http.ts';
import { check, invalid, parseEmpty, query, type CallOptions, type RrCore } from './rr.core.ts';
import {
  describeIssues,
  ItemsQuerySchema,
  ItemsResponse,
  ProductGroupSchema,
  ProductSchema,
  stockId as stockIdSchema,
  type ProductGroupInput,
  type ProductInput,
  type RrItem,
} from './rr.schemas.ts';

export interface UpsertOptions extends CallOptions {
  /** Per-warehouse upsert (§2, §3.2): sent as query param and body field. */
  stockId?: string;
}

/** The object form of an items lookup: `items({ itemIds: [1, 2], stockId: 'moscow' })`. */
export interface ItemsQuery {
  itemIds: readonly (number | string)[];
  stockId?: string;
}

export interface ProductsApi {
  /** POST `{RR_PRODUCT_API_URL}partner/{partnerId}/products/{id}?stockId=..&apiKey=..` (bulk priority). */
  upsert(product: ProductInput, opts?: UpsertOptions): Promise<RrResult<void>>;
  /** POST `{RR_PRODUCT_API_URL}partner/{partnerId}/productsgroup/{groupId}?stockId=..&apiKey=..` (bulk). */
  upsertGroup(group: ProductGroupInput, opts?: UpsertOptions): Promise<RrResult<void>>;
  /**
   * GET `{RR_PRODUCT_API_URL}partner/{partnerId}/items/?itemsIds=1,2&stock=..` (§3.3, public: no
   * apiKey sent). Unknown ids are simply absent from the answer. Takes the ids, or an object
   * `{ itemIds, stockId? }` like the other methods' parameters (a stockId in both places must agree).
   */
  items(query: readonly (number | string)[] | ItemsQuery, opts?: UpsertOptions): Promise<RrResult<RrItem[]>>;
}

const isIdList = (q: unknown): q is readonly (number | string)[] => Array.isArray(q);

function parseItems(res: HttpResponse): RrResult<RrItem[]> {
  const parsed = ItemsResponse.safeParse(res.body ?? []);
  if (!parsed.success) return invalid(`unexpected items answer: ${describeIssues(parsed.error)}`);
  return { ok: true, status: res.status, value: parsed.data };
}

export function createProductsApi(core: RrCore): ProductsApi {
  const partnerPath = `${core.urls.productApi}partner/${encodeURIComponent(core.partnerId)}/`;

  function post(
    op: string,
    path: string,
    body: Record<string, unknown>,
    opts: UpsertOptions,
  ): Promise<RrResult<void>> {
    let stockId: string | undefined;
    if (opts.stockId !== undefined) {
      const s = stockIdSchema.safeParse(opts.stockId);
      if (!s.success)
        return Promise.resolve(
          invalid(`${op} refused before sending: ${describeIssues(s.error, 'stockId')}`),
        );
      stockId = s.data;
    }
    return core.call({
      op,
      method: 'POST',
      url: `${partnerPath}${path}?${query([
        ['stockId', stockId],
        ['apiKey', core.apiKey],
      ])}`,
      body: stockId === undefined ? body : { ...body, stockId },
      priority: opts.priority ?? 'bulk',
      timeoutMs: opts.timeoutMs ?? core.timeoutMs,
      queueTimeoutMs: opts.queueTimeoutMs,
      parse: parseEmpty,
    });
  }

  return {
    upsert(product, opts = {}) {
      const checked = check(ProductSchema, product, 'product');
      if (!checked.ok) return Promise.resolve(checked);
      return post('product.upsert', `products/${checked.value.id}`, checked.value, opts);
    },
    upsertGroup(group, opts = {}) {
      const checked = check(ProductGroupSchema, group, 'product group');
      if (!checked.ok) return Promise.resolve(checked);
      return post('product.upsertGroup', `productsgroup/${checked.value.groupId}`, checked.value, opts);
    },
    async items(itemsQuery, opts = {}) {
      const input = isIdList(itemsQuery) ? { itemIds: itemsQuery } : itemsQuery;
      const given = input as Partial<ItemsQuery> | null;
      if (given?.stockId !== undefined && opts.stockId !== undefined && given.stockId !== opts.stockId)
        return invalid('items lookup refused before sending: stockId is given twice with different values');
      const stockId = given?.stockId ?? opts.stockId;
      const checked = check(
        ItemsQuerySchema,
        stockId === undefined ? input : { ...input, stockId },
        'items lookup',
      );
      if (!checked.ok) return checked;
      const qs = query([
        ['itemsIds', checked.value.itemIds],
        ['stock', checked.value.stockId],
      ]);
      return core.call({
        op: 'product.items',
        method: 'GET',
        url: `${partnerPath}items/?${qs}`,
        priority: opts.priority ?? 'interactive',
        timeoutMs: opts.timeoutMs ?? core.timeoutMs,
        queueTimeoutMs: opts.queueTimeoutMs,
        parse: parseItems,
      });
    },
  };
}
