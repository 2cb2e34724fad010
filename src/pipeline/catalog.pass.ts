import type pg from 'pg';
import { openCatalogSnapshot } from '../catalog/catalog.reader.ts';
import { P, S } from '../catalog/catalog.rows.ts';
import { offerXml } from '../feed/feed.xml.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { validateCategories, validateWarehouses, type Category } from '../validation/catalog.validator.ts';
import { validateProduct, type Offer } from '../validation/product.validator.ts';
import type { RunReport } from '../validation/validation.report.ts';

/** What every sink learns before the first offer. */
export interface PassStart {
  /** The category tree as it goes into the feed (valid categories, id order). */
  categories: Category[];
}

/**
 * A consumer of one catalog pass. The pass reads the catalog once and hands each product, in id
 * order (bytewise), to every sink: the feed writer, the change detector, ... `validate` is a pass
 * with no sink.
 */
export interface OfferSink {
  start?(ctx: PassStart): Promise<void>;
  /**
   * One valid offer with its feed text (built once, shared by all sinks). Returns a promise only
   * when the sink needs the pass to wait (backpressure); the pass then awaits it.
   */
  offer(offer: Offer, xml: string): Promise<void> | undefined;
  /** A product id that was read but left out by validation (in the same id order as offers). */
  rejected?(rawId: string | null): Promise<void> | undefined;
  /** Called after the last product. */
  end?(): Promise<void>;
}

export interface PassTotals {
  offers: number;
  categories: number;
  stockBlocks: number;
  productRowsRead: number;
  rejectedProducts: number;
  msRead: number;
}

export interface PassOptions {
  signal?: AbortSignal;
  /** The job lock's connection died: the read stops with the signal's reason (db.unreachable). */
  lockLost?: AbortSignal;
  onProgress?: (p: { products: number; estimated: number }) => void;
}

/**
 * One pass over the store catalog (design §2): one snapshot, every row validated once, each result
 * handed to the sinks. Memory holds one COPY batch, never the catalog; the only await per batch is
 * the one a sink asks for.
 */
export async function runCatalogPass(
  deps: { catalog: pg.Pool; schema: string; logger: Logger; report: RunReport },
  sinks: OfferSink[],
  options: PassOptions = {},
): Promise<PassTotals> {
  const { report } = deps;
  const started = performance.now();
  const snapshot = await openCatalogSnapshot(deps.catalog, deps.schema, deps.logger, {
    signal: options.lockLost,
    onOrphanStock: (row) =>
      report.add({
        code: 'stock.unknown_product',
        entity: 'stock',
        id: row[S.productId],
        warehouseId: row[S.warehouseId],
        field: 'product_id',
        value: row[S.productId],
      }),
  });
  const totals: PassTotals = {
    offers: 0,
    categories: 0,
    stockBlocks: 0,
    productRowsRead: 0,
    rejectedProducts: 0,
    msRead: 0,
  };
  try {
    const categories = validateCategories(snapshot.categories, report);
    totals.categories = categories.length;
    const ctx = {
      categories: new Set(categories.map((c) => c.id)),
      warehouses: validateWarehouses(snapshot.warehouses, report),
      groupIdCollisions: snapshot.groupIdCollisions,
      report,
    };
    for (const sink of sinks) await sink.start?.({ categories });
    const wantsXml = sinks.length > 0;
    const estimated = snapshot.estimatedProducts;
    for await (const batch of snapshot.products()) {
      if (options.signal?.aborted) {
        throw new AppError('interrupted', 'The run was interrupted; nothing was published.');
      }
      for (const group of batch) {
        totals.productRowsRead += group.rows.length;
        const offer = validateProduct(group, ctx);
        if (offer === null) {
          totals.rejectedProducts += group.rows.length;
          const rawId = group.rows[0][P.id];
          for (const sink of sinks) {
            const wait = sink.rejected?.(rawId);
            if (wait) await wait;
          }
          continue;
        }
        totals.offers++;
        totals.stockBlocks += offer.stocks.length;
        if (!wantsXml) continue;
        const xml = offerXml(offer);
        for (const sink of sinks) {
          const wait = sink.offer(offer, xml);
          if (wait) await wait;
        }
      }
      await report.drain();
      options.onProgress?.({ products: totals.productRowsRead, estimated });
    }
    options.onProgress?.({ products: totals.productRowsRead, estimated: totals.productRowsRead });
    for (const sink of sinks) await sink.end?.();
  } finally {
    await snapshot.close();
  }
  totals.msRead = Math.round(performance.now() - started);
  return totals;
}
