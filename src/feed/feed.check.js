// Plain JavaScript (typed with JSDoc, checked by tsc): it runs in worker threads, which then need
// no TypeScript loader of their own (each loader costs a thread and tens of MB).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { SaxesParser } from 'saxes';

/**
 * Streaming structural check of a feed file with saxes: well-formed XML 1.0, root
 * `yml_catalog` with a `date`, `shop`, `categories`, `offers`; counts offers and categories and
 * hashes the offer ids in document order, so the result can be compared with what the writer
 * wrote without holding any id in memory. A DOCTYPE is refused (we never write one, and refusing
 * it rules out entity expansion attacks). Also hashes the raw bytes (whole file, and everything
 * after the first `headerLength` bytes).
 */
/**
 * @typedef {object} FeedCheckResult
 * @property {boolean} ok well-formed, safe, and shaped like a feed (no problems)
 * @property {boolean} wellFormed the XML itself parsed
 * @property {string} [error] the first parse or safety error, or the first problem
 * @property {string[]} problems feed-shape problems (root, date, offers without id)
 * @property {number} offers
 * @property {number} categories
 * @property {string} idsSha256 sha256 of the offer ids, each followed by 

 * @property {string} sha256 of the whole file
 * @property {string} contentSha256 of the file after its first headerLength bytes
 * @property {number} bytes
 * @property {string | null} catalogDate
 */

/**
 * The decoder the XML declaration asks for (our feeds are UTF-8; third-party ones may not be).
 * @param {Uint8Array} first the first bytes of the document
 */
function decoderFor(first) {
  const head = Buffer.from(first.subarray(0, 200)).toString('latin1');
  const m = /^\uFEFF?<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']/.exec(head);
  try {
    return new TextDecoder(m ? m[1] : 'utf-8', { fatal: true });
  } catch {
    return new TextDecoder('utf-8', { fatal: true });
  }
}

export class FeedChecker {
  /** @param {number} headerLength bytes excluded from contentSha256 (the header with the date) */
  constructor(headerLength = 0) {
    this.headerLength = headerLength;
    this.parser = new SaxesParser({ xmlns: false, position: false });
    this.decoder = new TextDecoder('utf-8', { fatal: true });
    this.full = createHash('sha256');
    this.content = createHash('sha256');
    this.ids = createHash('sha256');
    this.idBuf = '';
    /** @type {string | null} */
    this.error = null;
    /** @type {string[]} */
    this.problems = [];
    /** @type {TextDecoder | null} chosen from the XML declaration once the first bytes are in */
    this.decoderForDeclared = null;
    this.bytes = 0;
    this.offers = 0;
    this.categories = 0;
    /** @type {string[]} */
    this.stack = [];
    /** @type {string | null} */
    this.catalogDate = null;
    this.seenRoot = false;
    this.seenShop = false;
    this.seenOffers = false;
    const p = this.parser;
    // saxes never fetches a DTD and refuses undefined entities. A DOCTYPE that declares entities
    // is refused outright (no entity expansion of any kind: XXE, billion laughs).
    p.on('doctype', (doctype) => {
      if (/<!ENTITY/i.test(doctype)) this.fail('the DOCTYPE declares entities, which a feed must not use');
    });
    p.on('error', (e) => this.fail(e.message));
    p.on('opentag', (node) => {
      const depth = this.stack.length;
      const name = node.name;
      if (depth === 0) {
        this.seenRoot = true;
        if (name !== 'yml_catalog') this.problem(`root element is <${name}>, expected <yml_catalog>`);
        const d = node.attributes.date;
        this.catalogDate = typeof d === 'string' ? d : null;
        if (!this.catalogDate) this.problem('<yml_catalog> has no date attribute');
      } else if (depth === 1 && name === 'shop') {
        this.seenShop = true;
      } else if (depth === 2 && name === 'offers' && this.stack[1] === 'shop') {
        this.seenOffers = true;
      } else if (depth === 3 && name === 'offer' && this.stack[2] === 'offers') {
        const id = node.attributes.id;
        if (typeof id !== 'string' || id === '') this.problem(`offer #${this.offers + 1} has no id`);
        this.offers++;
        this.idBuf += `${id}\n`;
        if (this.idBuf.length > 65536) {
          this.ids.update(this.idBuf);
          this.idBuf = '';
        }
      } else if (depth === 3 && name === 'category' && this.stack[2] === 'categories') {
        this.categories++;
      }
      this.stack.push(name);
    });
    p.on('closetag', () => {
      this.stack.pop();
    });
  }

  /** @param {string} message */
  fail(message) {
    this.error ??= message;
  }

  /** @param {string} message */
  problem(message) {
    if (this.problems.length < 10) this.problems.push(message);
  }

  /** @param {Uint8Array} chunk */
  write(chunk) {
    if (this.headerLength > this.bytes) {
      const skip = this.headerLength - this.bytes;
      if (chunk.length > skip) this.content.update(chunk.subarray(skip));
    } else this.content.update(chunk);
    this.bytes += chunk.length;
    this.full.update(chunk);
    if (this.error) return;
    let text;
    try {
      if (this.bytes === chunk.length) this.decoder = decoderFor(chunk);
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      this.fail(`invalid ${this.decoder.encoding} near byte ${this.bytes - chunk.length}`);
      return;
    }
    try {
      this.parser.write(text);
    } catch (e) {
      this.fail(/** @type {Error} */ (e).message);
    }
  }

  /** @returns {FeedCheckResult} */
  end() {
    if (!this.error) {
      try {
        this.decoder.decode();
        this.parser.close();
      } catch (e) {
        this.fail(/** @type {Error} */ (e).message);
      }
    }
    if (!this.error && this.bytes === 0) this.fail('the file is empty');
    // Only worth saying of a well-formed <yml_catalog> (otherwise the first problem says more).
    if (!this.error && this.seenRoot && this.problems.length === 0) {
      if (!this.seenShop) this.problem('<yml_catalog> has no <shop>');
      else if (!this.seenOffers) this.problem('<shop> has no <offers>');
    }
    this.ids.update(this.idBuf);
    const error = this.error ?? this.problems[0];
    return {
      ok: error === undefined,
      wellFormed: this.error === null,
      ...(error ? { error } : {}),
      problems: this.problems,
      offers: this.offers,
      categories: this.categories,
      idsSha256: this.ids.digest('hex'),
      sha256: this.full.digest('hex'),
      contentSha256: this.content.digest('hex'),
      bytes: this.bytes,
      catalogDate: this.catalogDate,
    };
  }
}

/**
 * Check a whole file in this thread (tests, third-party feeds).
 * @param {string} path
 * @param {number} [headerLength]
 * @returns {Promise<FeedCheckResult>}
 */
export async function checkFeedFile(path, headerLength = 0) {
  const checker = new FeedChecker(headerLength);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) checker.write(chunk);
  return checker.end();
}

/**
 * Gunzip a .gz file and hash both the compressed and the decompressed bytes. The inflating runs on
 * the libuv thread pool, so this costs the calling thread little.
 * @param {string} path
 * @returns {Promise<{ ok: boolean, error?: string, sha256: string, gzSha256: string, bytes: number, gzBytes: number }>}
 */
export async function checkGzipFile(path) {
  const compressed = createHash('sha256');
  const plain = createHash('sha256');
  let bytes = 0;
  let gzBytes = 0;
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  source.on('data', (c) => {
    compressed.update(c);
    gzBytes += c.length;
  });
  try {
    for await (const chunk of source.pipe(createGunzip({ chunkSize: 1 << 20 }))) {
      plain.update(chunk);
      bytes += chunk.length;
    }
    return { ok: true, gzSha256: compressed.digest('hex'), sha256: plain.digest('hex'), bytes, gzBytes };
  } catch (e) {
    source.destroy();
    return {
      ok: false,
      error: `catalog.xml.gz: ${/** @type {Error} */ (e).message}`,
      sha256: '',
      gzSha256: '',
      bytes,
      gzBytes,
    };
  }
}
