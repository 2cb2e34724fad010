/** The single-value rules of design §4, each a pure function (property-tested). */

export const MAX_ID = 9007199254740991;
const MAX_ID_TEXT = '9007199254740991';
const DIGITS = /^[0-9]+$/;

export type IdProblem = 'missing' | 'not_integer' | 'leading_zero' | 'out_of_range';

/** Product, group and category ids: decimal digits only, no sign or leading zeros, 1..2^53-1. */
export function checkId(value: string | null): IdProblem | null {
  if (value === null || value === '') return 'missing';
  if (!DIGITS.test(value)) return 'not_integer';
  if (value.length > 1 && value.charCodeAt(0) === 48) return 'leading_zero';
  if (value === '0') return 'out_of_range';
  if (value.length > 16 || (value.length === 16 && value > MAX_ID_TEXT)) return 'out_of_range';
  return null;
}

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Warehouse (stock) ids: 1-50 characters, no control characters, no leading/trailing space. */
export function isValidWarehouseId(value: string | null): boolean {
  if (value === null || value.length === 0) return false;
  if (CONTROL.test(value)) return false;
  if (/^\s|\s$/u.test(value)) return false;
  let n = 0;
  for (const _ of value) if (++n > 50) return false;
  return true;
}

export type UrlProblem = 'missing' | 'invalid' | 'too_long';
// Absolute http(s) URL with a non-empty host and no whitespace or control characters anywhere.
// eslint-disable-next-line no-control-regex
const HTTP_URL = /^https?:\/\/[^\s/?#@\u0000-\u001f\u007f]+(?:[/?#][^\s\u0000-\u001f\u007f]*)?$/i;

export function checkUrl(value: string | null): UrlProblem | null {
  if (value === null || value.trim() === '') return 'missing';
  if (value.length > 512) return 'too_long';
  if (!HTTP_URL.test(value)) return 'invalid';
  return null;
}

export type PriceProblem = 'missing' | 'invalid' | 'not_positive';
const DECIMAL = /^[+-]?[0-9]+(?:\.[0-9]+)?$/;

/** Canonical decimal text of a price ("049.90" -> "49.90"), or a problem. */
export function checkPrice(value: string | null): { price: string } | { problem: PriceProblem } {
  if (value === null || value.trim() === '') return { problem: 'missing' };
  const v = value.trim();
  if (!DECIMAL.test(v)) return { problem: 'invalid' };
  if (v.charCodeAt(0) === 45 /* - */ || !/[1-9]/.test(v)) return { problem: 'not_positive' };
  const unsigned = v.charCodeAt(0) === 43 /* + */ ? v.slice(1) : v;
  return { price: unsigned.replace(/^0+(?=\d)/, '') };
}

/** Numeric comparison of two canonical positive decimals without floating point loss. */
export function compareDecimal(a: string, b: string): number {
  const [ai, af = ''] = a.split('.');
  const [bi, bf = ''] = b.split('.');
  if (ai.length !== bi.length) return ai.length < bi.length ? -1 : 1;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const len = Math.max(af.length, bf.length);
  const x = af.padEnd(len, '0');
  const y = bf.padEnd(len, '0');
  return x === y ? 0 : x < y ? -1 : 1;
}

export function parseBool(value: string | null): boolean | null | undefined {
  if (value === null) return null;
  switch (value.toLowerCase()) {
    case 'true':
    case 't':
      return true;
    case 'false':
    case 'f':
      return false;
    default:
      return undefined;
  }
}

// Everything XML 1.0 allows: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF.
// With the u flag a lone surrogate is one code point in D800-DFFF and so matches (is removed).
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[^\t\n\r\u{20}-\u{D7FF}\u{E000}-\u{FFFD}\u{10000}-\u{10FFFF}]/u;
// eslint-disable-next-line no-control-regex
const NOT_XML_CHARS = /[^\t\n\r\u{20}-\u{D7FF}\u{E000}-\u{FFFD}\u{10000}-\u{10FFFF}]/gu;

/** Remove characters XML 1.0 forbids; `changed` tells whether any was removed. */
export function sanitizeText(value: string): { text: string; changed: boolean } {
  if (!NOT_XML_CHAR.test(value)) return { text: value, changed: false };
  return { text: value.replace(NOT_XML_CHARS, ''), changed: true };
}

export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}
