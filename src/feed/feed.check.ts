import { createHash, type Hash } from 'node:crypto';
import { SaxesParser } from 'saxes';

/**
 * Streaming structural check of a feed file with saxes: well-formed XML 1.0, root
 * `yml_catalog` with a `date`, `shop`, `categories`, `offers`; counts offers and categories and
 * hashes the offer ids in document order, so the result can be compared with what the writer
 * wrote without holding any id in memory. A DOCTYPE is refused (we never write one, and refusing
 * it rules out entity expansion attacks). Also hashes the raw bytes (whole file, and everything
 * after the first `headerLength` bytes).
 */
export interface FeedCheckResult {
  ok: boolean;
  error?: string;
  offers: number;
  categories: number;
  /** sha256 of the offer ids joined with \n (each followed by \n). */
  idsSha256: string;
  sha256: string;
  contentSha256: string;
  bytes: number;
  catalogDate: string | null;
}

export class FeedChecker {
  private readonly parser = new SaxesParser({ xmlns: false, position: false });
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly full: Hash = createHash('sha256');
  private readonly content: Hash = createHash('sha256');
  private readonly ids: Hash = createHash('sha256');
  private idBuf = '';
  private error: string | null = null;
  private bytes = 0;
  private offers = 0;
  private categories = 0;
  private readonly stack: string[] = [];
  private catalogDate: string | null = null;

  constructor(private readonly headerLength = 0) {
    const p = this.parser;
    p.on('doctype', () => this.fail('a DOCTYPE is not allowed in a feed'));
    p.on('error', (e) => this.fail(e.message));
    p.on('opentag', (node) => {
      const depth = this.stack.length;
      const name = node.name;
      if (depth === 0) {
        if (name !== 'yml_catalog') this.fail(`root element is <${name}>, expected <yml_catalog>`);
        const d = node.attributes.date;
        this.catalogDate = typeof d === 'string' ? d : null;
        if (!this.catalogDate) this.fail('<yml_catalog> has no date attribute');
      } else if (depth === 3 && name === 'offer' && this.stack[2] === 'offers') {
        const id = node.attributes.id;
        if (typeof id !== 'string' || id === '') this.fail(`offer #${this.offers + 1} has no id`);
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

  private fail(message: string) {
    this.error ??= message;
  }

  write(chunk: Uint8Array): void {
    if (this.headerLength > this.bytes) {
      const skip = this.headerLength - this.bytes;
      if (chunk.length > skip) this.content.update(chunk.subarray(skip));
    } else this.content.update(chunk);
    this.bytes += chunk.length;
    this.full.update(chunk);
    if (this.error) return;
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      this.fail(`invalid UTF-8 near byte ${this.bytes - chunk.length}`);
      return;
    }
    try {
      this.parser.write(text);
    } catch (e) {
      this.fail((e as Error).message);
    }
  }

  end(): FeedCheckResult {
    if (!this.error) {
      try {
        this.decoder.decode();
        this.parser.close();
      } catch (e) {
        this.fail((e as Error).message);
      }
    }
    if (!this.error && this.bytes === 0) this.fail('the file is empty');
    this.ids.update(this.idBuf);
    return {
      ok: this.error === null,
      ...(this.error ? { error: this.error } : {}),
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

/** Check a whole file in this thread (tests, third-party feeds). */
export async function checkFeedFile(path: string, headerLength = 0): Promise<FeedCheckResult> {
  const { createReadStream } = await import('node:fs');
  const checker = new FeedChecker(headerLength);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) checker.write(chunk as Buffer);
  return checker.end();
}
