/**
 * Every reason code the validator can report (design §4), with its severity: an `error` leaves
 * the item out of the feed and the push, a `warning` keeps it. Codes are public interface (the
 * run report, the README table): add new ones, never rename.
 */
export const REASON_CODES = {
  'product.id.missing': ['error', 'product id is NULL or empty'],
  'product.id.not_integer': [
    'error',
    'product id is not decimal digits only (sign, letters, spaces, decimals)',
  ],
  'product.id.leading_zero': ['error', 'product id has a leading zero'],
  'product.id.out_of_range': ['error', 'product id is not within 1..9007199254740991'],
  'product.id.duplicate': ['error', 'product id occurs in more than one row: every such row is left out'],
  'product.group_id.invalid': ['error', 'group_id breaks the id rule'],
  'product.name.missing': ['error', 'name is NULL or blank'],
  'product.url.missing': ['error', 'url is NULL or blank'],
  'product.url.invalid': ['error', 'url is not an absolute http(s) URL'],
  'product.url.too_long': ['error', 'url is longer than 512 characters'],
  'product.picture.missing': ['error', 'picture_url is NULL or blank'],
  'product.picture.invalid': ['error', 'picture_url is not an absolute http(s) URL'],
  'product.picture.too_long': ['error', 'picture_url is longer than 512 characters'],
  'product.price.missing': ['error', 'price is NULL'],
  'product.price.invalid': ['error', 'price is not a decimal number'],
  'product.price.not_positive': ['error', 'price is zero or negative'],
  'product.available.invalid': ['error', 'available is not true/false'],
  'product.category.missing': ['error', 'product lists no category'],
  'product.category.none_valid': ['error', 'none of the listed categories is in the feed'],
  'product.category.unknown': [
    'warning',
    'a listed category does not exist or was left out: that reference is dropped',
  ],
  'product.old_price.not_greater': ['warning', 'old_price is not greater than price: dropped'],
  'product.old_price.invalid': ['warning', 'old_price is not a decimal number: dropped'],
  'product.name.too_long': ['warning', 'name is longer than 120 characters (Retail Rocket may cut it)'],
  'product.params.invalid': [
    'warning',
    'params is not an array of {name, value, unit?} or an object name -> value: bad entries dropped',
  ],
  'product.text.invalid_chars': [
    'warning',
    'characters not allowed in XML 1.0 were removed from a text field',
  ],
  'group.id_is_product_id': ['warning', 'group_id equals the id of a product outside the group'],
  'category.id.missing': ['error', 'category id is NULL or empty'],
  'category.id.not_integer': ['error', 'category id is not decimal digits only'],
  'category.id.leading_zero': ['error', 'category id has a leading zero'],
  'category.id.out_of_range': ['error', 'category id is not within 1..9007199254740991'],
  'category.id.duplicate': ['error', 'category id occurs in more than one row: every such row is left out'],
  'category.name.missing': ['error', 'category name is NULL or blank'],
  'category.parent.missing': ['error', 'parent_id names no category (or an invalid id)'],
  'category.parent.rejected': [
    'error',
    'an ancestor category was left out, so this one has no parent in the feed',
  ],
  'category.cycle': ['error', 'the category is part of a parent cycle'],
  'category.name.slash': [
    'warning',
    'the category name contains "/", which the Product API reads as a level separator: in categoryPaths each "/" of the name is sent as "∕" (U+2215); the feed keeps the name as is',
  ],
  'category.text.invalid_chars': ['warning', 'characters not allowed in XML 1.0 were removed from the name'],
  'warehouse.id.invalid': [
    'error',
    'warehouse id is not 1-50 characters without control characters or edge spaces',
  ],
  'warehouse.id.duplicate': ['warning', 'warehouse id occurs in more than one row'],
  'stock.unknown_warehouse': [
    'error',
    'warehouse_id names no valid warehouse: this <stock> block is dropped',
  ],
  'stock.duplicate': [
    'error',
    'the same product and warehouse occur in more than one stock row: all are dropped',
  ],
  'stock.available.invalid': ['error', 'stock available is not true/false: this <stock> block is dropped'],
  'stock.price.invalid': [
    'error',
    'stock price override is not a positive decimal: this <stock> block is dropped',
  ],
  'stock.url.invalid': [
    'error',
    'stock url override is not an absolute http(s) URL of at most 512 characters: block dropped',
  ],
  'stock.picture.invalid': [
    'error',
    'stock picture_url override is not an absolute http(s) URL of at most 512 characters: block dropped',
  ],
  'stock.old_price.not_greater': ['warning', 'stock old_price is not greater than the stock price: dropped'],
  'stock.text.invalid_chars': [
    'warning',
    'characters not allowed in XML 1.0 were removed from a stock text field',
  ],
  'stock.unknown_product': ['warning', 'stock row for a product id that has no product row: ignored'],
} as const satisfies Record<string, readonly ['error' | 'warning', string]>;

export type ReasonCode = keyof typeof REASON_CODES;
export type Severity = 'error' | 'warning';

export function severityOf(code: ReasonCode): Severity {
  return REASON_CODES[code][0];
}
