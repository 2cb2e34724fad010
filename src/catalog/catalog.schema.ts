import { quoteIdent, type Queryable } from '../db/pool.ts';
import { AppError } from '../shared/errors.ts';

const PRODUCT_REQUIRED = [
  'id',
  'group_id',
  'name',
  'url',
  'picture_url',
  'price',
  'old_price',
  'available',
  'category_ids',
] as const;
const PRODUCT_OPTIONAL = ['vendor', 'model', 'type_prefix', 'description', 'params'] as const;
const STOCK_REQUIRED = ['product_id', 'warehouse_id', 'available'] as const;
const STOCK_OPTIONAL = ['price', 'old_price', 'url', 'picture_url', 'name', 'description'] as const;

/** The product columns the reader selects, in this order (positions: `P` in catalog.reader.ts). */
export const PRODUCT_COLUMNS = [...PRODUCT_REQUIRED, ...PRODUCT_OPTIONAL] as const;
/** The stock columns the reader selects, in this order (positions: `S` in catalog.reader.ts). */
export const STOCK_COLUMNS = [...STOCK_REQUIRED, ...STOCK_OPTIONAL] as const;

/**
 * design §3: the four relations and the columns the service reads from each. Optional columns may
 * be absent (read as NULL); `updated_at` is part of the contract but not read yet.
 */
export const CATALOG_CONTRACT = {
  categories: { required: ['id', 'parent_id', 'name'], optional: [] },
  warehouses: { required: ['id', 'name'], optional: [] },
  products: { required: PRODUCT_REQUIRED, optional: [...PRODUCT_OPTIONAL, 'updated_at'] },
  product_stocks: { required: STOCK_REQUIRED, optional: STOCK_OPTIONAL },
} as const;

export type RelationName = keyof typeof CATALOG_CONTRACT;

/** Column name -> SQL type (format_type), for the columns that exist. */
export type ColumnTypes = Map<string, string>;
export type CatalogColumns = Record<RelationName, ColumnTypes>;

const README_HINT =
  'See README.md, section "Store data contract", for the expected relations and a view example.';

/**
 * Check that the four relations exist in `schema` with the columns the reader needs, before any
 * work is done; a missing one stops the command with exit 2, naming it. The optional columns of
 * the contract may be absent (read as NULL) so that a minimal view is enough.
 */
export async function inspectCatalog(db: Queryable, schema: string): Promise<CatalogColumns> {
  const { rows } = await db.query<{ relname: string; attname: string; type: string }>(
    `select c.relname, a.attname, format_type(a.atttypid, a.atttypmod) as type
       from pg_class c
       join pg_namespace n on n.oid = c.relnamespace
       join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'p', 'f') and c.relname = any($2)`,
    [schema, Object.keys(CATALOG_CONTRACT)],
  );
  const found = new Map<string, ColumnTypes>();
  for (const r of rows) {
    if (!found.has(r.relname)) found.set(r.relname, new Map());
    found.get(r.relname)!.set(r.attname, r.type);
  }
  const result = {} as CatalogColumns;
  for (const [rel, spec] of Object.entries(CATALOG_CONTRACT) as [
    RelationName,
    (typeof CATALOG_CONTRACT)[RelationName],
  ][]) {
    const cols = found.get(rel);
    if (!cols) {
      throw new AppError(
        'catalog.relation_missing',
        `The store relation ${schema}.${rel} does not exist (CATALOG_SCHEMA=${schema}). ${README_HINT}`,
        { details: { relation: `${schema}.${rel}` } },
      );
    }
    const missing = spec.required.filter((c) => !cols.has(c));
    if (missing.length > 0) {
      throw new AppError(
        'catalog.column_missing',
        `The store relation ${schema}.${rel} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}. ${README_HINT}`,
        { details: { relation: `${schema}.${rel}`, columns: missing } },
      );
    }
    result[rel] = cols;
  }
  return result;
}

/** `col::text`, or NULL when an optional column is absent. Identifiers are quoted. */
export function textExpr(cols: ColumnTypes, column: string): string {
  if (!cols.has(column)) return 'null::text';
  return `${quoteIdent(column)}::text`;
}

/**
 * A list column (category_ids) as a JSON array of strings whatever its SQL type: arrays are
 * converted element-wise; a scalar text column ("1,2") is passed as text and split by the reader.
 */
export function listExpr(cols: ColumnTypes, column: string): string {
  const type = cols.get(column) ?? 'text';
  if (type.endsWith('[]')) return `array_to_json(${quoteIdent(column)}::text[])::text`;
  if (type === 'json' || type === 'jsonb') return `${quoteIdent(column)}::text`;
  return `${quoteIdent(column)}::text`;
}

export function qualified(schema: string, relation: RelationName): string {
  return `${quoteIdent(schema)}.${quoteIdent(relation)}`;
}
