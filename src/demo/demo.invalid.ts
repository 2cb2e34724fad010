import type { CopyField } from './demo.copy.ts';
import { pictureUrl, productUrl } from './demo.products.ts';

/**
 * Rows planted on purpose so that every run report has something to show. Their number is fixed
 * (independent of --products) and their ids sit far above the generated range (100000...).
 * `reason` is the report code the validator is expected to give (design §4).
 */
export interface PlantedRow {
  relation: 'products' | 'categories' | 'product_stocks';
  key: string;
  severity: 'error' | 'warning';
  reason: string;
  what: string;
}

interface PlantedProduct {
  id: string;
  groupId?: string;
  name?: string;
  url?: string;
  picture?: string | null;
  price?: string;
  oldPrice?: string;
  categories?: string;
  description?: string;
}

export const PLANTED_CATEGORIES: { id: number; parentId: number; name: string }[] = [
  { id: 9901, parentId: 9902, name: 'Loop A' },
  { id: 9902, parentId: 9901, name: 'Loop B' },
  { id: 9903, parentId: 8888, name: 'Orphan category' },
];

const LONG_URL = `https://shop.example/p/990000007?ref=${'x'.repeat(520)}`;
const LONG_NAME = `Chef knife 20 cm, red, ${'extra long marketing words '.repeat(5)}`.trim();

const PLANTED_PRODUCTS: PlantedProduct[] = [
  { id: 'SKU-17' },
  { id: '0123' },
  { id: '990000003', name: 'Duplicate id (first row)' },
  { id: '990000003', name: 'Duplicate id (second row)' },
  { id: '990000004', price: '0' },
  { id: '990000005', picture: null },
  { id: '990000006', url: '/p/990000006' },
  { id: '990000007', url: LONG_URL },
  { id: '990000008', categories: '{999999}' },
  { id: '990000009', categories: '{9901}' },
  { id: '990000012', price: '100.00', oldPrice: '90.00' },
  { id: '990000013', name: LONG_NAME },
  { id: '990000014', description: 'Control characters \u0001 and \u000B inside: the feed removes them.' },
  { id: '990000015', groupId: '990000013' },
];

export const PLANTED_ROWS: readonly PlantedRow[] = [
  row('products', 'SKU-17', 'error', 'product.id.not_integer', 'id is not a decimal integer'),
  row('products', '0123', 'error', 'product.id.leading_zero', 'id has a leading zero'),
  row('products', '990000003', 'error', 'product.id.duplicate', 'two rows share this id'),
  row('products', '990000003', 'error', 'product.id.duplicate', '(second row of the pair)'),
  row('products', '990000004', 'error', 'product.price.not_positive', 'price is 0'),
  row('products', '990000005', 'error', 'product.picture_url.missing', 'picture_url is NULL'),
  row('products', '990000006', 'error', 'product.url.invalid', 'url is relative (/p/990000006)'),
  row('products', '990000007', 'error', 'product.url.too_long', `url is ${LONG_URL.length} characters`),
  row(
    'products',
    '990000008',
    'error',
    'product.category.unknown',
    'only category 999999, which does not exist',
  ),
  row(
    'products',
    '990000009',
    'error',
    'product.category.invalid',
    'only category 9901, which is in a cycle',
  ),
  row('categories', '9901', 'error', 'category.cycle', '9901 -> 9902 -> 9901'),
  row('categories', '9902', 'error', 'category.cycle', '9902 -> 9901 -> 9902'),
  row('categories', '9903', 'error', 'category.parent_missing', 'parent 8888 does not exist'),
  row(
    'product_stocks',
    'FIRST/kazan',
    'error',
    'stock.unknown_warehouse',
    "warehouse 'kazan' is not in warehouses",
  ),
  row('products', '990000012', 'warning', 'product.old_price.not_greater', 'old_price 90.00 < price 100.00'),
  row('products', '990000013', 'warning', 'product.name.too_long', `name is ${LONG_NAME.length} characters`),
  row('products', '990000014', 'warning', 'text.invalid_xml_chars', 'description holds \\u0001 and \\u000B'),
  row(
    'products',
    '990000015',
    'warning',
    'product.group.id_collision',
    'group_id 990000013 is a product outside it',
  ),
];

function row(
  relation: PlantedRow['relation'],
  key: string,
  severity: PlantedRow['severity'],
  reason: string,
  what: string,
): PlantedRow {
  return { relation, key, severity, reason, what };
}

/** `leafCategoryId`: a real leaf, so that each row breaks only the rule it is planted for. */
export function plantedProductRows(leafCategoryId: number): CopyField[][] {
  return PLANTED_PRODUCTS.map((p) => [
    p.id,
    p.groupId ?? null,
    p.name ?? `Demo product ${p.id}, planted for the run report`,
    p.url ?? productUrl(p.id),
    p.picture === undefined ? pictureUrl(p.id) : p.picture,
    p.price ?? '19.99',
    p.oldPrice ?? null,
    't',
    p.categories ?? `{${leafCategoryId}}`,
    'Acme',
    'PL-1',
    'Test item',
    p.description ??
      'A row planted by rr-sync demo so that the run report shows what each rule does: <see> the "report" & fix it.',
    null,
    '2026-01-01T00:00:00.000Z',
  ]);
}

/** The stock row with an unknown warehouse hangs on a real product (the first generated one). */
export function plantedStockRows(firstProductId: string): CopyField[][] {
  return [[firstProductId, 'kazan', 't', null, null, null, null, null, null]];
}
