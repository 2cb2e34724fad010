import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';
import { describe, expect, it } from 'vitest';
import { copyRows, parseCopyLine, type CopyRow } from '../../src/catalog/copy-text.ts';
import { escapeAttr, escapeText } from '../../src/feed/feed.xml.ts';
import {
  checkId,
  checkPrice,
  checkUrl,
  cleanedOrNull,
  codePointLength,
  compareDecimal,
  isValidWarehouseId,
  MAX_ID,
  parseBool,
  sanitizeText,
} from '../../src/validation/validation.rules.ts';

// Property tests of design §4's single-value rules: each rule is compared with an independent
// reference (BigInt for numbers, code point by code point for characters), on generators that
// favour the edges (surrogates, U+FFFE/FFFF, controls, CR, 2^53-1).

const RUNS = { numRuns: 2000 };
const MAX = BigInt(MAX_ID);

/** Code units that sit on some rule's edge. */
// prettier-ignore
const EDGE_CHARS = [
  '\t', '\n', '\r', ' ', '\u000b', '\u000c', '\u0000', '\u0001', '\u0008', '\u001f', '\u007f', '\u0080',
  '\u0085', '\u009f', '\u00a0', '\u2028', '\ufeff', '\ud7ff', '\ud800', '\udbff', '\udc00', '\udfff',
  '\ue000', '\ufffd', '\ufffe', '\uffff', '\u{1f600}', '\u{10ffff}', '&', '<', '>', '"', "'", ']', '\\',
  'N', 'é', '0', '1', '9', '.', '+', '-', '/', ':', '?', '#', '@', '０', '١',
];
const edgeChar = fc.constantFrom(...EDGE_CHARS);
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((n) => String.fromCharCode(n));
const anyChar = fc.oneof(edgeChar, anyCodeUnit, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
/** Any JavaScript string, lone surrogates included. */
const anyText = fc.string({ unit: anyChar, maxLength: 40 });

/** XML 1.0 `Char` production, for one code point. */
function isXmlCodePoint(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}
/** Code points in string order; a lone surrogate is its own "code point" (for..of semantics). */
const codePoints = (s: string) => [...s].map((c) => c.codePointAt(0)!);
const isXmlText = (s: string) => codePoints(s).every(isXmlCodePoint);
const referenceSanitize = (s: string) => [...s].filter((c) => isXmlCodePoint(c.codePointAt(0)!)).join('');
const validText = anyText.map(referenceSanitize);

describe('checkId (product, group and category ids)', () => {
  const digit = fc.constantFrom(...'0123456789');
  const idLike = fc.oneof(
    anyText,
    fc.string({ unit: digit, maxLength: 20 }),
    fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
    fc.bigInt({ min: MAX - 1000n, max: MAX + 1000n }).map(String),
    fc
      .tuple(
        fc.constantFrom('0', '00', '+', '-', ' ', '０', '1.', 'x'),
        fc.bigInt({ min: 0n, max: MAX + 5n }),
      )
      .chain(([p, n]) => fc.constantFrom(`${p}${n}`, `${n}${p}`)),
  );

  /** The rule as the design states it, with BigInt as the number reference. */
  function accepted(s: string): boolean {
    if (!/^[0-9]+$/.test(s)) return false;
    const n = BigInt(s);
    return n >= 1n && n <= MAX && n.toString() === s;
  }

  it('accepts a string exactly when it is canonical decimal digits within 1..2^53-1', () => {
    fc.assert(
      fc.property(idLike, (s) => {
        expect(checkId(s) === null).toBe(accepted(s));
      }),
      RUNS,
    );
  });

  it('names the broken part of the rule', () => {
    fc.assert(
      fc.property(idLike, (s) => {
        const problem = checkId(s);
        if (s === '') expect(problem).toBe('missing');
        else if (!/^[0-9]+$/.test(s)) expect(problem).toBe('not_integer');
        else if (s.length > 1 && s.startsWith('0')) expect(problem).toBe('leading_zero');
        else if (BigInt(s) === 0n || BigInt(s) > MAX) expect(problem).toBe('out_of_range');
        else expect(problem).toBeNull();
      }),
      RUNS,
    );
  });

  it('pins the edges', () => {
    expect(checkId(null)).toBe('missing');
    expect(checkId('1')).toBeNull();
    expect(checkId('9007199254740991')).toBeNull();
    expect(checkId('9007199254740992')).toBe('out_of_range');
    expect(checkId('10000000000000000')).toBe('out_of_range');
    expect(checkId('0')).toBe('out_of_range');
    expect(checkId('01')).toBe('leading_zero');
    expect(checkId('00')).toBe('leading_zero');
    expect(checkId('+1')).toBe('not_integer');
    expect(checkId(' 1')).toBe('not_integer');
    expect(checkId('1.0')).toBe('not_integer');
    expect(checkId('１')).toBe('not_integer');
  });
});

describe('isValidWarehouseId', () => {
  const whLike = fc.oneof(
    anyText,
    fc.string({
      unit: fc.oneof(fc.constantFrom('a', 'Z', '-', ' ', '😀'), anyChar),
      minLength: 45,
      maxLength: 55,
    }),
    fc.string({ unit: fc.constantFrom('a', 'б', '😀', '_'), minLength: 48, maxLength: 52 }),
  );

  /**
   * 1-50 characters (code points), no control characters (C0, DEL, C1), no leading/trailing
   * white space, and nothing XML 1.0 forbids: the id is written as `<stock id="...">`.
   */
  function accepted(s: string): boolean {
    const cps = codePoints(s);
    if (cps.length < 1 || cps.length > 50) return false;
    if (cps.some((cp) => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f))) return false;
    if (!cps.every(isXmlCodePoint)) return false;
    return s.trim() === s;
  }

  it('accepts a string exactly when the warehouse id rule holds', () => {
    fc.assert(
      fc.property(whLike, (s) => {
        expect(isValidWarehouseId(s)).toBe(accepted(s));
      }),
      RUNS,
    );
  });

  it('pins the edges', () => {
    expect(isValidWarehouseId(null)).toBe(false);
    expect(isValidWarehouseId('')).toBe(false);
    expect(isValidWarehouseId('x'.repeat(50))).toBe(true);
    expect(isValidWarehouseId('x'.repeat(51))).toBe(false);
    expect(isValidWarehouseId('😀'.repeat(50))).toBe(true);
    expect(isValidWarehouseId(' north')).toBe(false);
    expect(isValidWarehouseId('north\u00a0')).toBe(false);
    expect(isValidWarehouseId('no\u0085rth')).toBe(false);
    expect(isValidWarehouseId('north\ufffe')).toBe(false);
    expect(isValidWarehouseId('north\ud800')).toBe(false);
    expect(isValidWarehouseId('Moscow store #1')).toBe(true);
  });
});

describe('checkUrl (url and picture_url)', () => {
  const scheme = fc.constantFrom('http://', 'https://', 'HTTPS://', 'ftp://', 'http:/', 'http:', '//', '');
  const urlLike = fc.oneof(
    fc.tuple(scheme, anyText).map(([a, b]) => a + b),
    fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }),
    fc
      .tuple(fc.constantFrom('https://shop.example/', 'http://a/'), fc.integer({ min: 490, max: 530 }))
      .map(([a, n]) => a + 'x'.repeat(n - a.length)),
  );

  /** Absolute http(s), a host with no userinfo, ≤ 512 characters, no space/control/non-XML character. */
  function reference(s: string): string | null {
    if (s.trim() === '') return 'missing';
    if (s.length > 512) return 'too_long';
    const m = /^https?:\/\/([^/?#]*)/i.exec(s);
    if (!m || m[1] === '' || m[1].includes('@')) return 'invalid';
    if (/[\s\u0000-\u001f\u007f]/.test(s) || !isXmlText(s)) return 'invalid';
    return null;
  }

  it('accepts exactly absolute http(s) URLs of at most 512 characters that XML can carry', () => {
    fc.assert(
      fc.property(urlLike, (s) => {
        expect(checkUrl(s)).toBe(reference(s));
      }),
      RUNS,
    );
  });

  it('accepts the URLs a shop writes', () => {
    fc.assert(
      fc.property(fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true }), (u) => {
        fc.pre(u.length <= 512);
        expect(checkUrl(u)).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('pins the edges', () => {
    expect(checkUrl(null)).toBe('missing');
    expect(checkUrl('  ')).toBe('missing');
    expect(checkUrl('https://shop.example/p/1?a=1&b=2#x')).toBeNull();
    expect(checkUrl('/p/1')).toBe('invalid');
    expect(checkUrl('https://')).toBe('invalid');
    expect(checkUrl('https://shop.example/p 1')).toBe('invalid');
    expect(checkUrl('https://shop.example/p/\ufffe')).toBe('invalid');
    expect(checkUrl(`https://a/${'x'.repeat(502)}`)).toBeNull();
    expect(checkUrl(`https://a/${'x'.repeat(503)}`)).toBe('too_long');
  });
});

describe('checkPrice and compareDecimal', () => {
  const digits = (min: number, max: number) =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });
  const priceLike = fc.oneof(
    anyText,
    fc
      .tuple(
        fc.constantFrom('', '', '+', '-', ' ', '\t'),
        digits(0, 6),
        fc.constantFrom('', '.', ','),
        digits(0, 4),
        fc.constantFrom('', ' ', 'e5', '\n'),
      )
      .map((parts) => parts.join('')),
    fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e5', '0', '0.00', '-0', '+0.0', '.5', '5.'),
  );

  /** Exact value of a decimal text as [integer, scale]: value = integer / 10^scale. */
  const exactValue = (s: string): [bigint, number] => {
    const [i, f = ''] = s.replace(/^\+/, '').split('.');
    return [BigInt(i + f), f.length];
  };
  const sameValue = (a: string, b: string) => {
    const [x, xs] = exactValue(a);
    const [y, ys] = exactValue(b);
    return x * 10n ** BigInt(ys) === y * 10n ** BigInt(xs);
  };

  /** Independent reference: a regex and BigInt arithmetic, canonical text from the exact value. */
  function reference(s: string): ReturnType<typeof checkPrice> {
    if (s.trim() === '') return { problem: 'missing' };
    const m = /^([+-]?)([0-9]+)(?:\.([0-9]+))?$/.exec(s.trim());
    if (!m) return { problem: 'invalid' };
    const [, sign, int, frac = ''] = m;
    const scaled = BigInt(int + frac);
    const scale = 10n ** BigInt(frac.length);
    const fracText = (scaled % scale).toString().padStart(frac.length, '0').replace(/0+$/, '');
    const text = `${scaled / scale}${fracText ? `.${fracText}` : ''}`;
    if (scaled === 0n) return { problem: 'not_positive', canonical: '0' };
    if (sign === '-') return { problem: 'not_positive', canonical: `-${text}` };
    return { price: text };
  }

  it('canonicalises exactly the positive decimals', () => {
    fc.assert(
      fc.property(priceLike, (s) => {
        expect(checkPrice(s)).toEqual(reference(s));
      }),
      RUNS,
    );
    expect(checkPrice(null)).toEqual({ problem: 'missing' });
    expect(checkPrice('049.90')).toEqual({ price: '49.9' });
    expect(checkPrice('0.50')).toEqual({ price: '0.5' });
    expect(checkPrice('10.50')).toEqual({ price: '10.5' });
    expect(checkPrice('10.00')).toEqual({ price: '10' });
    expect(checkPrice('0010.5')).toEqual({ price: '10.5' });
    expect(checkPrice('+7')).toEqual({ price: '7' });
    expect(checkPrice(' 12.340 ')).toEqual({ price: '12.34' });
    expect(checkPrice('\u00a012.5\u00a0')).toEqual({ price: '12.5' });
    // What PostgreSQL prints for price_cents / 100.0 (issue 10 §5).
    expect(checkPrice('9.9000000000000000')).toEqual({ price: '9.9' });
    expect(checkPrice('0.00000000000000000000')).toEqual({ problem: 'not_positive', canonical: '0' });
    expect(checkPrice('-0.50')).toEqual({ problem: 'not_positive', canonical: '-0.5' });
    for (const bad of ['1e5', '5.', '.5', '1,5', 'NaN', 'Infinity', '1.2.3', '--1', '+-1', '+', '-'])
      expect(checkPrice(bad)).toEqual({ problem: 'invalid' });
  });

  // Any decimal text: optional sign, leading zeros, optional fraction with trailing zeros.
  const decimalText = fc
    .tuple(fc.constantFrom('', '+'), digits(0, 3), digits(1, 10), fc.option(digits(1, 8)), digits(0, 4))
    .map(
      ([sign, zeros, int, frac, trailing]) =>
        `${sign}${zeros.replace(/./g, '0')}${int}${frac === null ? '' : `.${frac}${trailing.replace(/./g, '0')}`}`,
    );

  it('gives canonical text with the same decimal value: no sign, exponent, leading or trailing zeros', () => {
    fc.assert(
      fc.property(decimalText, (s) => {
        const r = checkPrice(s);
        if (!('price' in r)) {
          expect(sameValue(s, '0')).toBe(true);
          return;
        }
        expect(sameValue(r.price, s)).toBe(true);
        expect(r.price).toMatch(/^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/);
      }),
      RUNS,
    );
  });

  it('is idempotent, and equal values give equal text', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const ra = checkPrice(a);
        const rb = checkPrice(b);
        if ('price' in ra) expect(checkPrice(ra.price)).toEqual(ra);
        if ('price' in ra && 'price' in rb) expect(ra.price === rb.price).toBe(sameValue(a, b));
      }),
      RUNS,
    );
    // Equal values written differently: the pairs generated at random rarely collide.
    fc.assert(
      fc.property(decimalText, digits(0, 3), digits(0, 3), (s, z1, z2) => {
        const pad = (t: string, zl: string, zt: string) => {
          const u = t.replace(/^\+/, '');
          return `${zl.replace(/./g, '0')}${u}${u.includes('.') ? '' : '.'}${zt.replace(/./g, '0')}0`;
        };
        expect(checkPrice(pad(s, z1, z2))).toEqual(checkPrice(s));
      }),
      RUNS,
    );
  });

  it('keeps the value of the price', () => {
    fc.assert(
      fc.property(fc.tuple(digits(1, 8), fc.option(digits(1, 4))), ([int, frac]) => {
        const s = frac === null ? int : `${int}.${frac}`;
        const r = checkPrice(s);
        if ('price' in r) expect(Number(r.price)).toBe(Number(s));
        else expect(Number(s)).toBe(0);
      }),
      RUNS,
    );
  });

  it('compares canonical decimals like exact numbers', () => {
    const canonical = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.option(digits(1, 5)))
      .map(([i, f]) => (f === null ? String(i) : `${i}.${f}`));
    const exact = exactValue;
    fc.assert(
      fc.property(canonical, canonical, (a, b) => {
        const [x, xs] = exact(a);
        const [y, ys] = exact(b);
        const l = x * 10n ** BigInt(ys);
        const r = y * 10n ** BigInt(xs);
        expect(compareDecimal(a, b)).toBe(l < r ? -1 : l > r ? 1 : 0);
      }),
      RUNS,
    );
  });
});

describe('parseBool', () => {
  it('reads true/t/false/f in any case, NULL as null, anything else as invalid', () => {
    const boolLike = fc.oneof(
      anyText,
      fc.mixedCase(fc.constantFrom('true', 't', 'false', 'f', 'yes', 'no', '1', '0', 'on', 'tru')),
    );
    fc.assert(
      fc.property(boolLike, (s) => {
        const l = s.toLowerCase();
        expect(parseBool(s)).toBe(
          l === 'true' || l === 't' ? true : l === 'false' || l === 'f' ? false : undefined,
        );
      }),
      RUNS,
    );
    expect(parseBool(null)).toBeNull();
  });
});

describe('sanitizeText', () => {
  it('removes exactly the code points XML 1.0 forbids', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const { text, changed } = sanitizeText(s);
        expect(text).toBe(referenceSanitize(s));
        expect(isXmlText(text)).toBe(true);
        expect(changed).toBe(text !== s);
        expect(cleanedOrNull(s)).toBe(changed ? text : null);
      }),
      RUNS,
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        const once = sanitizeText(s).text;
        expect(sanitizeText(once)).toEqual({ text: once, changed: false });
      }),
      RUNS,
    );
  });

  it('keeps valid text untouched, emoji and other astral characters included', () => {
    fc.assert(
      fc.property(fc.oneof(validText, fc.string({ unit: 'grapheme', maxLength: 30 })), (s) => {
        expect(sanitizeText(s)).toEqual({ text: s, changed: false });
        expect(cleanedOrNull(s)).toBeNull();
      }),
      RUNS,
    );
    expect(sanitizeText('a\ud83d\ude00\ud800\ude00b')).toEqual({
      text: 'a\ud83d\ude00\ud800\ude00b',
      changed: false,
    });
    expect(sanitizeText('\ud800\ud800\udc00\udc00')).toEqual({ text: '\ud800\udc00', changed: true });
  });

  it('codePointLength counts code points', () => {
    fc.assert(
      fc.property(anyText, (s) => {
        expect(codePointLength(s)).toBe(Array.from(s).length);
      }),
      RUNS,
    );
  });
});

describe('text round trip through the feed XML', () => {
  function feedWith(t: string): string {
    return `<yml_catalog date="2024-01-01 00:00"><shop><offers><offer id="1" available="true"><name>${escapeText(t)}</name><param name="${escapeAttr(t)}">x</param></offer></offers></shop></yml_catalog>`;
  }

  /** What the self-check's parser (saxes) reads back: the <name> text and the param's name. */
  function viaSaxes(xml: string): { text: string; attr: unknown } {
    const p = new SaxesParser({ xmlns: false, position: false });
    let text = '';
    let attr: unknown;
    let inName = false;
    p.on('opentag', (n) => {
      if (n.name === 'name') inName = true;
      if (n.name === 'param') attr = n.attributes.name;
    });
    p.on('text', (t) => {
      if (inName) text += t;
    });
    p.on('closetag', (n) => {
      if (n.name === 'name') inName = false;
    });
    p.on('error', (e) => {
      throw e;
    });
    p.write(xml).close();
    return { text, attr };
  }

  const fxp = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: false,
    htmlEntities: true,
  });
  function viaFastXmlParser(xml: string): { text: unknown; attr: unknown } {
    const offer = fxp.parse(xml).yml_catalog.shop.offers.offer;
    return { text: offer.name, attr: offer.param['@name'] };
  }

  it('keeps attribute values exactly (saxes and fast-xml-parser)', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const t = sanitizeText(raw).text;
        const xml = feedWith(t);
        expect(viaSaxes(xml).attr).toBe(t);
        expect(viaFastXmlParser(xml).attr).toBe(t);
      }),
      RUNS,
    );
  });

  it('keeps element text exactly (saxes and fast-xml-parser)', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        const t = sanitizeText(raw).text;
        const xml = feedWith(t);
        expect(viaSaxes(xml).text).toBe(t);
        // fast-xml-parser gives '' for an empty element and the text otherwise.
        expect(viaFastXmlParser(xml).text).toBe(t);
      }),
      RUNS,
    );
  });

  it('keeps a carriage return in element text (XML would otherwise turn CR and CRLF into LF)', () => {
    const t = 'line 1\r\nline 2\rline 3';
    expect(viaSaxes(feedWith(t)).text).toBe(t);
  });
});

describe('COPY text format', () => {
  /** PostgreSQL's COPY TO text encoding of one field (CopyAttributeOutText). */
  function encodeField(v: string | null): string {
    if (v === null) return '\\N';
    const named: Record<string, string> = {
      '\\': '\\\\',
      '\b': '\\b',
      '\f': '\\f',
      '\n': '\\n',
      '\r': '\\r',
      '\t': '\\t',
      '\v': '\\v',
    };
    return v.replace(/[\\\b\f\n\r\t\v]/g, (c) => named[c]);
  }
  const field = fc.option(anyText, { freq: 5 });
  const row = fc.array(field, { minLength: 1, maxLength: 6 });

  it('parseCopyLine inverts the COPY escaping of any row', () => {
    fc.assert(
      fc.property(row, (r) => {
        expect(parseCopyLine(r.map(encodeField).join('\t'))).toEqual(r);
      }),
      RUNS,
    );
  });

  it('reads the literal text \\N apart from NULL, and octal/hex escapes', () => {
    expect(parseCopyLine('\\\\N\t\\N\t')).toEqual(['\\N', null, '']);
    expect(parseCopyLine('\\101\\x41\\x4a\\0')).toEqual(['AAJ\u0000']);
  });

  it('copyRows gives the same rows however the stream is cut (multi-byte characters too)', async () => {
    // No lone surrogates here: they cannot be encoded as UTF-8 (PostgreSQL never sends them).
    const utf8Field = fc.option(
      fc.string({
        unit: fc
          .oneof(edgeChar, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
          .filter((c) => !/^[\ud800-\udfff]$/.test(c)),
        maxLength: 20,
      }),
      { freq: 5 },
    );
    const rows = fc.array(fc.array(utf8Field, { minLength: 2, maxLength: 2 }), {
      minLength: 1,
      maxLength: 8,
    });
    await fc.assert(
      fc.asyncProperty(rows, fc.array(fc.nat(), { maxLength: 10 }), async (rs, cuts) => {
        const bytes = Buffer.from(rs.map((r) => `${r.map(encodeField).join('\t')}\n`).join(''), 'utf8');
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const c of [...at, bytes.length]) {
          if (c > from) chunks.push(bytes.subarray(from, c));
          from = Math.max(from, c);
        }
        const out: CopyRow[] = [];
        const source = (async function* () {
          yield* chunks;
        })();
        for await (const batch of copyRows(source)) out.push(...batch);
        expect(out).toEqual(rs);
      }),
      { numRuns: 500 },
    );
  });
});
