import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { Logger } from '../shared/logger.ts';
import { P, S, type ProductGroup, type RawCategory, type RawWarehouse } from './catalog.rows.ts';
import { copyRows, type CopyRow } from './copy-text.ts';
import {
  inspectCatalog,
  listExpr,
  PRODUCT_COLUMNS,
  qualified,
  STOCK_COLUMNS,
  textExpr,
  type CatalogColumns,
} from './catalog.schema.ts';

export { P, S, type ProductGroup, type RawCategory, type RawWarehouse } from './catalog.rows.ts';

export interface CatalogSnapshot {
  columns: CatalogColumns;
  categories: RawCategory[];
  warehouses: RawWarehouse[];
  /** Group ids that are also the id of a product outside that group (design §4, warning). */
  groupIdCollisions: Set<string>;
  /** Planner estimate of the product rows (for progress and ETA; 0 when unknown, e.g. a view). */
  estimatedProducts: number;
  /** Products in id order (bytewise), merged with their stock rows, in batches. Iterate once. */
  products(): AsyncGenerator<ProductGroup[]>;
  /** Stock rows whose product id matched no product row (known after products() finished). */
  readonly orphanStocks: number;
  close(): Promise<void>;
}

/** Reads rows in batches from a COPY stream, with synchronous access inside a batch. */
export class RowCursor {
  private batch: CopyRow[] = [];
  private i = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<CopyRow[]>) {}

  /** True when a current row is available (loading the next batch if needed). */
  async ready(): Promise<boolean> {
    while (this.i >= this.batch.length) {
      if (this.done) return false;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return false;
      }
      this.batch = next.value;
      this.i = 0;
    }
    return true;
  }
  hasBuffered(): boolean {
    return this.i < this.batch.length;
  }
  current(): CopyRow {
    return this.batch[this.i];
  }
  advance(): void {
    this.i++;
  }
}

export function copyStream(client: pg.PoolClient, sql: string): AsyncIterator<CopyRow[]> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  // Until the first read, nothing listens: a run that fails before reading (read-only FEEDS_DIR)
  // discards the connection, and the COPY's 'error' would end the process. The iterator still
  // sees the error: it checks the stream's errored state when it starts.
  stream.on('error', () => undefined);
  return copyRows(stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
}

/**
 * Open one consistent view of the store catalog: two connections share a snapshot
 * (pg_export_snapshot), one streams products and the other stock rows, both ordered by id as bytes
 * (COLLATE "C", which JavaScript's string order matches for the ids that can be valid), and the two
 * streams are merged here. Memory holds one COPY batch per stream, never the catalog.
 */
export async function openCatalogSnapshot(
  pool: pg.Pool,
  schema: string,
  logger: Logger,
  options: {
    /** Called for each stock row whose product id matched no product row, as the merge passes it. */
    onOrphanStock?: (row: CopyRow) => void;
  } = {},
): Promise<CatalogSnapshot> {
  const columns = await inspectCatalog(pool, schema);
  const a = await pool.connect();
  let b: pg.PoolClient | undefined;
  let drained = false;
  const release = async () => {
    for (const c of [a, b]) {
      if (!c) continue;
      // A connection left in the middle of a COPY cannot be reused: discard it.
      if (drained) {
        await c.query('rollback').catch(() => undefined);
        c.release();
      } else c.release(true);
    }
  };
  try {
    await a.query('begin isolation level repeatable read read only');
    const { rows: snap } = await a.query<{ id: string }>('select pg_export_snapshot() as id');
    b = await pool.connect();
    await b.query('begin isolation level repeatable read read only');
    if (!/^[0-9A-F-]+$/i.test(snap[0].id)) throw new Error(`unexpected snapshot id ${snap[0].id}`);
    await b.query(`set transaction snapshot '${snap[0].id}'`);

    const cat = columns.categories;
    const { rows: catRows } = await a.query<RawCategory>(
      `select ${textExpr(cat, 'id')} as "id", ${textExpr(cat, 'parent_id')} as "parentId", ${textExpr(cat, 'name')} as "name"
         from ${qualified(schema, 'categories')}`,
    );
    const wh = columns.warehouses;
    const { rows: whRows } = await a.query<RawWarehouse>(
      `select ${textExpr(wh, 'id')} as "id", ${textExpr(wh, 'name')} as "name" from ${qualified(schema, 'warehouses')}`,
    );
    const products = qualified(schema, 'products');
    const started = performance.now();
    const { rows: collisions } = await a.query<{ id: string }>(
      `select distinct g.group_id::text as id
         from ${products} g join ${products} p on p.id::text = g.group_id::text
        where g.group_id is not null and p.group_id::text is distinct from g.group_id::text`,
    );
    logger.debug({ ms: Math.round(performance.now() - started) }, 'group id collision check');
    const { rows: est } = await a.query<{ n: string }>(
      `select greatest(c.reltuples, 0)::bigint::text as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relname = 'products'`,
      [schema],
    );

    const p = columns.products;
    const productSql = `select ${PRODUCT_COLUMNS.map((c) => (c === 'category_ids' ? listExpr(p, c) : textExpr(p, c))).join(', ')}
      from ${products} order by id::text collate "C"`;
    const s = columns.product_stocks;
    const stockSql = `select ${STOCK_COLUMNS.map((c) => textExpr(s, c)).join(', ')}
      from ${qualified(schema, 'product_stocks')}
      order by product_id::text collate "C", warehouse_id::text collate "C"`;

    let orphanStocks = 0;
    const orphan = (row: CopyRow) => {
      orphanStocks++;
      options.onOrphanStock?.(row);
    };
    const productCursor = new RowCursor(copyStream(a, productSql));
    const stockCursor = new RowCursor(copyStream(b, stockSql));

    /**
     * Yields the product groups completed by each COPY batch as one array: consumers then work
     * synchronously through a batch, with one await per batch instead of one per product.
     */
    async function* merged(): AsyncGenerator<ProductGroup[]> {
      let stocksLeft = await stockCursor.ready();
      let out: ProductGroup[] = [];
      if (await productCursor.ready()) {
        let group: CopyRow[] = [productCursor.current()];
        productCursor.advance();
        for (;;) {
          let more = productCursor.hasBuffered();
          if (!more) {
            if (out.length > 0) {
              yield out;
              out = [];
            }
            more = await productCursor.ready();
          }
          const next = more ? productCursor.current() : null;
          const id = group[0][P.id];
          if (next && next[P.id] === id) {
            group.push(next);
            productCursor.advance();
            continue;
          }
          const stocks: CopyRow[] = [];
          // NULL ids sort last in both streams and never match anything.
          while (stocksLeft && id !== null) {
            const sid = stockCursor.current()[S.productId];
            if (sid === null || sid > id) break;
            if (sid === id) stocks.push(stockCursor.current());
            else orphan(stockCursor.current());
            stockCursor.advance();
            stocksLeft = stockCursor.hasBuffered() || (await stockCursor.ready());
          }
          out.push({ rows: group, stocks });
          if (!next) break;
          group = [next];
          productCursor.advance();
        }
        if (out.length > 0) yield out;
      }
      while (stocksLeft) {
        orphan(stockCursor.current());
        stockCursor.advance();
        stocksLeft = stockCursor.hasBuffered() || (await stockCursor.ready());
      }
      drained = true;
    }

    const snapshot: CatalogSnapshot = {
      columns,
      categories: catRows,
      warehouses: whRows,
      groupIdCollisions: new Set(collisions.map((r) => r.id)),
      estimatedProducts: Number(est[0]?.n ?? 0),
      products: merged,
      get orphanStocks() {
        return orphanStocks;
      },
      close: release,
    };
    return snapshot;
  } catch (err) {
    await release();
    throw err;
  }
}
