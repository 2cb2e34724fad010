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
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Warehouse (stock) ids: 1-50 characters, no control characters, no leading/trailing space, and
 * nothing XML 1.0 forbids (U+FFFE/U+FFFF pass the control check, and PostgreSQL stores them: such
 * an id written as `<stock id>` made the whole feed fail its self-check).
 */
export function isValidWarehouseId(value: string | null): boolean {
  if (value === null || value.length === 0) return false;
  if (CONTROL.test(value) || hasXmlForbidden(value)) return false;
  if (/^\s|\s$/u.test(value)) return false;
  let n = 0;
  for (const _ of value) if (++n > 50) return false;
  return true;
}

export type UrlProblem = 'missing' | 'invalid' | 'too_long';
// Absolute http(s) URL with a non-empty host and no whitespace or control characters anywhere.
const HTTP_URL = /^https?:\/\/[^\s/?#@\u0000-\u001f\u007f]+(?:[/?#][^\s\u0000-\u001f\u007f]*)?$/i;

export function checkUrl(value: string | null): UrlProblem | null {
  if (value === null || value.trim() === '') return 'missing';
  if (value.length > 512) return 'too_long';
  // A URL is written to the feed as is: a character XML forbids (U+FFFE/U+FFFF, which the pattern
  // lets through) would break the whole feed, so such a URL is invalid rather than cleaned.
  if (!HTTP_URL.test(value) || hasXmlForbidden(value)) return 'invalid';
  return null;
}

export type PriceProblem = 'missing' | 'invalid' | 'not_positive';
export type PriceCheck = { price: string } | { problem: PriceProblem; canonical?: string };

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * Canonical decimal text of a price, or a problem. Canonical: no sign, no exponent, no leading
 * zeros, no trailing fractional zeros, no lone dot ("0010.50" -> "10.5", "10.00" -> "10",
 * "9.9000000000000000" -> "9.9", as PostgreSQL prints `price_cents / 100.0`). A zero or negative
 * decimal comes back as `not_positive` with its canonical text ("-0.50" -> "-0.5") for the report.
 *
 * Hot path (up to three calls per product): one charCode scan, at most two slices, no regex and
 * no Number(); a price already canonical is returned as the same string.
 */
export function checkPrice(value: string | null): PriceCheck {
  if (value === null) return { problem: 'missing' };
  let v = value;
  let end = v.length;
  // Trim only when an end is not a plausible price character (trim() is exact but costs a copy).
  if (end === 0 || !isDigit(v.charCodeAt(end - 1)) || v.charCodeAt(0) <= 32 || v.charCodeAt(0) > 57) {
    v = v.trim();
    end = v.length;
    if (end === 0) return { problem: 'missing' };
  }
  let i = 0;
  let c = v.charCodeAt(0);
  const negative = c === 45; /* - */
  if (negative || c === 43 /* + */) i++;
  const intStart = i;
  let firstSignificant = -1;
  for (; i < end; i++) {
    c = v.charCodeAt(i);
    if (!isDigit(c)) break;
    if (firstSignificant < 0 && c !== 48) firstSignificant = i;
  }
  const intEnd = i;
  if (intEnd === intStart) return { problem: 'invalid' };
  let lastSignificant = -1;
  if (i < end) {
    if (c !== 46 /* . */ || i + 1 === end) return { problem: 'invalid' };
    for (i++; i < end; i++) {
      c = v.charCodeAt(i);
      if (!isDigit(c)) return { problem: 'invalid' };
      if (c !== 48) lastSignificant = i;
    }
  }
  const intText = firstSignificant < 0 ? '0' : v.slice(firstSignificant, intEnd);
  let canonical: string;
  if (lastSignificant < 0) canonical = intText;
  else if (firstSignificant === intStart) canonical = v.slice(intStart, lastSignificant + 1);
  else canonical = intText + v.slice(intEnd, lastSignificant + 1);
  if (firstSignificant < 0 && lastSignificant < 0) return { problem: 'not_positive', canonical: '0' };
  if (negative) return { problem: 'not_positive', canonical: `-${canonical}` };
  return { price: canonical };
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

// Code units XML 1.0 forbids: C0 controls other than tab/LF/CR, U+FFFE, U+FFFF, and surrogates
// that are not part of a pair (astral characters such as emoji are allowed). Exact, and fast:
// no u flag needed, so the common case is one linear scan.
const FORBIDDEN =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const FORBIDDEN_ALL =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Cheap pre-check: a plain character class scans fastest; only text that contains a control,
// U+FFFE/FFFF or any surrogate (emoji are pairs) needs the exact test with lookarounds.
const SUSPECT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff\ufffe\uffff]/;

function hasXmlForbidden(value: string): boolean {
  return SUSPECT.test(value) && FORBIDDEN.test(value);
}

/** Remove characters XML 1.0 forbids; `changed` tells whether any was removed. */
export function sanitizeText(value: string): { text: string; changed: boolean } {
  if (!SUSPECT.test(value) || !FORBIDDEN.test(value)) return { text: value, changed: false };
  return { text: value.replace(FORBIDDEN_ALL, ''), changed: true };
}

/** sanitizeText for the hot path: returns the cleaned text, or null when it was already clean. */
export function cleanedOrNull(value: string): string | null {
  if (!SUSPECT.test(value) || !FORBIDDEN.test(value)) return null;
  return value.replace(FORBIDDEN_ALL, '');
}

export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}
