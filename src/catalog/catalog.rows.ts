import type { CopyRow } from './copy-text.ts';

/**
 * The shape of the rows the catalog reader yields: pure data, imported by the reader (I/O) and by
 * the validator (domain) alike.
 */
export type { CopyRow };

/** Column positions of a product row as read by PRODUCT_COLUMNS. */
export const P = {
  id: 0,
  groupId: 1,
  name: 2,
  url: 3,
  picture: 4,
  price: 5,
  oldPrice: 6,
  available: 7,
  categoryIds: 8,
  vendor: 9,
  model: 10,
  typePrefix: 11,
  description: 12,
  params: 13,
} as const;

/** Column positions of a stock row. */
export const S = {
  productId: 0,
  warehouseId: 1,
  available: 2,
  price: 3,
  oldPrice: 4,
  url: 5,
  picture: 6,
  name: 7,
  description: 8,
} as const;

/** All rows that share one product id (normally one), with that id's stock rows. */
export interface ProductGroup {
  rows: CopyRow[];
  stocks: CopyRow[];
}

export interface RawCategory {
  id: string | null;
  parentId: string | null;
  name: string | null;
}
export interface RawWarehouse {
  id: string | null;
  name: string | null;
}
