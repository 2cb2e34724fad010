import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { createFeedDecoder, createFeedParser, FeedFailure, type ParsedFeed } from './emulator.feed-parse.ts';
import type { FeedRequiredTag } from './emulator.types.ts';

export interface FeedStreamResult {
  parsed: ParsedFeed;
  /** Bytes as received, and after every gzip layer was unpacked. */
  wireBytes: number;
  xmlBytes: number;
  gzip: boolean;
}

type Stage = (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>;

/** Counts bytes and fails past the cap, so a huge (or endless) feed never grows memory. */
function capBytes(max: number, counter: { n: number }): Stage {
  return async function* (source) {
    for await (const chunk of source) {
      counter.n += chunk.length;
      if (counter.n > max) throw new FeedFailure('feed.too_large', `feed is larger than ${max} bytes`);
      yield chunk;
    }
  };
}

async function* gunzipped(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  // The feeding side fails into `gunzip` (pipeline destroys it with the error), so iterating
  // it below throws whatever went wrong upstream or in the gzip data.
  const feeding = pipeline(Readable.from(source), gunzip);
  feeding.catch(() => undefined);
  try {
    yield* gunzip;
    await feeding;
  } finally {
    gunzip.destroy();
  }
}

/** A `.gz` file served as-is (no Content-Encoding) is unpacked too, recognised by its magic bytes. */
function unpackRawGzip(found: { gzip: boolean }): Stage {
  return async function* (source) {
    const it = source[Symbol.asyncIterator]();
    let head = Buffer.alloc(0);
    while (head.length < 2) {
      const r = await it.next();
      if (r.done) break;
      head = Buffer.concat([head, r.value]);
    }
    async function* whole(): AsyncGenerator<Buffer> {
      if (head.length > 0) yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    if (head[0] !== 0x1f || head[1] !== 0x8b) return yield* whole();
    found.gzip = true;
    yield* gunzipped(whole());
  };
}

/**
 * Streams a feed from `source` into a new catalog: bytes are counted and capped, gzip is unpacked
 * (Content-Encoding, or a raw `.gz` body), text is decoded and parsed chunk by chunk. Memory holds
 * a chunk and one offer, whatever the feed's size. Destroying `source` with an error (the pull
 * deadline does) ends it with that error.
 */
export async function readFeedStream(
  source: Readable,
  options: {
    contentEncodingGzip: boolean;
    maxBytes: number;
    required: FeedRequiredTag[];
    firstSeq: number;
  },
): Promise<FeedStreamResult> {
  const wire = { n: 0 };
  const xml = { n: 0 };
  const found = { gzip: options.contentEncodingGzip };
  const parser = createFeedParser(options.required, options.firstSeq);
  let parsed: ParsedFeed | undefined;
  const stages: Stage[] = [capBytes(options.maxBytes, wire)];
  if (options.contentEncodingGzip) stages.push(gunzipped);
  stages.push(unpackRawGzip(found), capBytes(options.maxBytes, xml));
  const sink = async (bytes: AsyncIterable<Buffer>) => {
    const decoder = createFeedDecoder();
    for await (const chunk of bytes) parser.write(decoder.write(chunk));
    parser.write(decoder.end());
    parsed = parser.close();
  };
  try {
    // Chained iterators: an error anywhere ends every stage, and leaving early destroys `source`.
    let bytes: AsyncIterable<Buffer> = source;
    for (const stage of stages) bytes = stage(bytes);
    await sink(bytes);
  } catch (err) {
    if (err instanceof FeedFailure) throw err;
    const e = err as NodeJS.ErrnoException;
    if (typeof e.code === 'string' && e.code.startsWith('Z_'))
      throw new FeedFailure('feed.gzip_invalid', `gzip body could not be unpacked: ${e.message}`);
    throw err;
  }
  return { parsed: parsed as ParsedFeed, wireBytes: wire.n, xmlBytes: xml.n, gzip: found.gzip };
}
