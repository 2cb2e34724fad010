import { SaxesParser } from 'saxes';
import type { Catalog } from './emulator.catalog.ts';
import { emptyCatalogAt, newNode, readCategories, readOffer, type XmlNode } from './emulator.feed-offer.ts';
import type { FeedIgnoredOffer, FeedRequiredTag } from './emulator.types.ts';

/** A feed the emulator refuses as a whole (the previous catalog stays). */
export class FeedFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ParsedFeed {
  catalog: Catalog;
  accepted: number;
  ignored: FeedIgnoredOffer[];
  ignoredByReason: Record<string, number>;
  warningsByReason: Record<string, number>;
}

/** Text in, catalog out: `write` as bytes arrive, `close` at the end. */
export interface FeedParser {
  write(text: string): void;
  close(): ParsedFeed;
}

const MAX_IGNORED_LISTED = 1000;
const MAX_DEPTH = 64;
const EXTERNAL_ENTITY = /<!ENTITY\s+(?:%\s*)?\S+\s+(?:SYSTEM|PUBLIC)\b/;

/**
 * A streaming YML reader (retailrocket-api.md §3.1): memory holds one `<offer>` (or `<category>`)
 * at a time, never the document. saxes decodes the XML built-in entities and character
 * references in text and attribute values, and expands nothing a DOCTYPE declares: an undeclared
 * entity such as `&b;` stays as written (no entity bombs), and a DOCTYPE that declares an
 * external entity fails the feed (nothing is ever fetched). An external DTD
 * (`<!DOCTYPE yml_catalog SYSTEM "shops.dtd">`, common in YML) is ignored.
 *
 * Categories are read up to the first `<offers>`, where YML puts them, so each offer is checked
 * against the complete category tree as soon as it closes.
 */
export function createFeedParser(required: FeedRequiredTag[], firstSeq: number): FeedParser {
  const out: ParsedFeed = {
    catalog: emptyCatalogAt(firstSeq),
    accepted: 0,
    ignored: [],
    ignoredByReason: {},
    warningsByReason: {},
  };
  const warn = (reason: string) => {
    out.warningsByReason[reason] = (out.warningsByReason[reason] ?? 0) + 1;
  };
  const path: string[] = [];
  /** The element being built: an offer or category and, inside it, its open descendants. */
  const open: XmlNode[] = [];
  const categories: XmlNode[] = [];
  let sawRoot = false;
  let sawShop = false;
  let sawCategories = false;
  let categoriesDone = false;

  const finishCategories = () => {
    if (categoriesDone) return;
    categoriesDone = true;
    if (!sawCategories) warn('feed.no_categories');
    readCategories(categories, out.catalog, warn);
    categories.length = 0;
  };
  const addOffer = (node: XmlNode) => {
    const result = readOffer(node, out.catalog, required, warn);
    if (typeof result === 'string') {
      out.ignoredByReason[result] = (out.ignoredByReason[result] ?? 0) + 1;
      if (out.ignored.length < MAX_IGNORED_LISTED)
        out.ignored.push({ offerId: node.attrs.id ?? null, reason: result });
      return;
    }
    result.seq = out.catalog.nextSeq++;
    out.catalog.items.set(result.id, result);
    out.accepted += 1;
  };

  const parser = new SaxesParser({ position: true });
  parser.on('error', (err) => {
    // saxes keeps `&name;` literally after reporting it; that is the "expand nothing" we want.
    if (/undefined entity/.test(err.message)) return;
    throw new FeedFailure('feed.malformed', err.message);
  });
  parser.on('doctype', (doctype) => {
    if (EXTERNAL_ENTITY.test(doctype))
      throw new FeedFailure(
        'feed.external_entity',
        'the DOCTYPE declares an external entity; external entities are never fetched',
      );
  });
  parser.on('opentag', (tag) => {
    const name = tag.name;
    const attrs = tag.attributes as Record<string, string>;
    if (path.length >= MAX_DEPTH)
      throw new FeedFailure('feed.malformed', `elements nested deeper than ${MAX_DEPTH}`);
    if (!sawRoot) {
      sawRoot = true;
      if (name !== 'yml_catalog')
        throw new FeedFailure('feed.no_yml_catalog', 'the root element must be <yml_catalog>');
      const date = attrs.date;
      if (date === undefined) warn('feed.date.missing');
      else if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(date)) warn('feed.date.format');
    }
    const parent = open.at(-1);
    if (parent) {
      const child = newNode(attrs);
      const siblings = parent.children.get(name);
      if (siblings) siblings.push(child);
      else parent.children.set(name, [child]);
      open.push(child);
    } else if (path.length === 1 && name === 'shop' && path[0] === 'yml_catalog') {
      sawShop = true;
    } else if (path.length === 2 && path[1] === 'shop') {
      if (name === 'categories') sawCategories = true;
      if (name === 'offers') finishCategories();
    } else if (path.length === 3 && path[1] === 'shop') {
      if (name === 'category' && path[2] === 'categories') {
        if (categoriesDone) warn('category.after_offers');
        else open.push(newNode(attrs));
      } else if (name === 'offer' && path[2] === 'offers') open.push(newNode(attrs));
    }
    path.push(name);
  });
  const onText = (text: string) => {
    const node = open.at(-1);
    if (node) node.text += text;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  parser.on('closetag', (tag) => {
    path.pop();
    if (open.length === 0) return;
    const node = open.pop() as XmlNode;
    if (open.length > 0) return;
    if (tag.name === 'offer') addOffer(node);
    else categories.push(node);
  });

  return {
    write(text) {
      parser.write(text);
    },
    close() {
      parser.close();
      if (!sawRoot) throw new FeedFailure('feed.no_yml_catalog', 'the root element must be <yml_catalog>');
      if (!sawShop) throw new FeedFailure('feed.no_shop', '<yml_catalog> has no <shop>');
      finishCategories();
      return out;
    },
  };
}

/**
 * Bytes to text in the encoding the XML declaration names (UTF-8 when none), chunk by chunk: a
 * character split across two chunks is completed by the next one.
 */
export function createFeedDecoder(): { write(bytes: Buffer): string; end(): string } {
  let head: Buffer | null = Buffer.alloc(0);
  let decoder: InstanceType<typeof TextDecoder> | undefined;
  let label = 'utf-8';
  const start = (bytes: Buffer) => {
    let body = bytes;
    if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
    const decl = body.subarray(0, 200).toString('latin1');
    label = /^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(decl)?.[1] ?? 'utf-8';
    try {
      decoder = new TextDecoder(label, { fatal: true });
    } catch {
      throw new FeedFailure('feed.encoding_unsupported', `unsupported encoding '${label}'`);
    }
    return body;
  };
  const decode = (bytes: Buffer, stream: boolean) => {
    try {
      return (decoder as InstanceType<typeof TextDecoder>).decode(bytes, { stream });
    } catch {
      throw new FeedFailure('feed.encoding_invalid', `bytes are not valid ${label}`);
    }
  };
  return {
    write(bytes) {
      if (head === null) return decode(bytes, true);
      // Wait for enough bytes to read the declaration's encoding before decoding anything.
      head = Buffer.concat([head, bytes]);
      if (head.length < 200) return '';
      const body = start(head);
      head = null;
      return decode(body, true);
    },
    end() {
      if (head !== null) {
        const body = start(head);
        head = null;
        return decode(body, false);
      }
      return decode(Buffer.alloc(0), false);
    },
  };
}
