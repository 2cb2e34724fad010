import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { OfferSink, PassStart } from '../pipeline/catalog.pass.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Offer } from '../validation/product.validator.ts';
import { checkGzipFile, type FeedCheckResult } from './feed.check.js';
import { FEED_FILES, type FeedManifest } from './feed.layout.ts';
import { FeedWriter } from './feed.writer.ts';
import { catalogDate, categoriesXml, FEED_FOOTER, feedHeader } from './feed.xml.ts';

const WORKER_URL = new URL('./feed.check.worker.js', import.meta.url);

export interface FeedSinkHooks {
  /** Test hook: alter what reaches catalog.xml only (simulates a corrupted temporary file). */
  corruptXml?: (chunk: Buffer) => void;
}

/** A built and self-checked feed in its temporary directory, ready for the publish decision. */
export interface BuiltFeed {
  dir: string;
  /** `version` and `publishedAt` are set when it is published. */
  manifest: FeedManifest;
}

function startCheck(file: string, headerLength: number) {
  // A small young generation: the checker's garbage is short-lived, and RSS is a budget (design §7).
  const worker = new Worker(WORKER_URL, {
    workerData: { path: file, headerLength },
    resourceLimits: { maxYoungGenerationSizeMb: 12 },
  });
  const result = new Promise<FeedCheckResult>((resolve, reject) => {
    worker.once('message', (m) => resolve(m as FeedCheckResult));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`self-check worker exited with code ${code}`)));
  });
  // Rejections are observed by finish(); an aborted run never awaits them.
  result.catch(() => undefined);
  return { worker, result };
}

/** What the self-check found wrong, comparing the files read back with what was written. */
export function selfCheckProblems(
  written: { bytes: number; offers: number; idsSha256: string },
  categories: number,
  xml: FeedCheckResult,
  gz: Awaited<ReturnType<typeof checkGzipFile>>,
): string[] {
  const problems: string[] = [];
  if (!xml.ok) problems.push(`catalog.xml does not parse: ${xml.error}`);
  else {
    if (xml.offers !== written.offers) {
      problems.push(`catalog.xml has ${xml.offers} offers, ${written.offers} were written`);
    } else if (xml.idsSha256 !== written.idsSha256) {
      problems.push('the offer ids in catalog.xml differ from those written');
    }
    if (xml.categories !== categories) {
      problems.push(`catalog.xml has ${xml.categories} categories, ${categories} were written`);
    }
    if (xml.bytes !== written.bytes)
      problems.push(`catalog.xml has ${xml.bytes} bytes, ${written.bytes} were written`);
  }
  if (!gz.ok) problems.push(gz.error ?? 'catalog.xml.gz does not decompress');
  else if (gz.sha256 !== xml.sha256)
    problems.push('catalog.xml.gz does not decompress to the same bytes as catalog.xml');
  return problems;
}

/**
 * The feed as a sink of the catalog pass: writes catalog.xml + .gz into `dir` while a worker
 * thread parses the written file back; `finish()` compares what was read back with what was
 * written and yields the manifest, or fails with `feed.self_check_failed`. Publishing is the job's.
 */
export class FeedSink implements OfferSink {
  private writer: FeedWriter | null = null;
  private check: ReturnType<typeof startCheck> | null = null;
  private categories = 0;
  private date = '';

  constructor(
    readonly dir: string,
    private readonly opts: { now: () => Date; logger: Logger; hooks?: FeedSinkHooks },
  ) {}

  async start(ctx: PassStart): Promise<void> {
    await mkdir(this.dir);
    this.date = catalogDate(this.opts.now());
    const header = feedHeader(this.date);
    this.categories = ctx.categories.length;
    // The checker follows the file as it grows: told about each flush once it exists.
    let port: Worker | null = null;
    this.writer = new FeedWriter(this.dir, {
      onXmlWritten: (bytes) => port?.postMessage({ type: 'progress', bytes }),
      corruptXml: this.opts.hooks?.corruptXml,
    });
    this.check = startCheck(this.writer.xmlPath, Buffer.byteLength(header));
    port = this.check.worker;
    await this.writer.write(header);
    await this.writer.write(categoriesXml(ctx.categories));
  }

  offer(offer: Offer, xml: string): Promise<void> | undefined {
    const writer = this.writer!;
    writer.addOfferId(offer.id);
    return writer.write(xml);
  }

  /** Close the files, run the self-check, and describe the feed (not yet published). */
  async finish(started: number): Promise<BuiltFeed> {
    const writer = this.writer!;
    const check = this.check!;
    await writer.write(FEED_FOOTER);
    const written = await writer.close();
    this.writer = null;
    const msWritten = Math.round(performance.now() - started);
    check.worker.postMessage({ type: 'done', bytes: written.bytes });
    // The main thread is free now: it verifies the .gz (inflating on the thread pool) while the
    // worker finishes parsing the .xml.
    const [xml, gz] = await Promise.all([check.result, checkGzipFile(path.join(this.dir, FEED_FILES.gz))]);
    this.opts.logger.info(
      {
        msWritten,
        msChecked: Math.round(performance.now() - started),
        offers: written.offers,
        bytes: written.bytes,
      },
      'feed written and self-checked',
    );
    const problems = selfCheckProblems(written, this.categories, xml, gz);
    if (problems.length > 0) {
      throw new AppError(
        'feed.self_check_failed',
        `Self-check failed, nothing published: ${problems.join('; ')}`,
        {
          details: { problems },
        },
      );
    }
    return {
      dir: this.dir,
      manifest: {
        version: '',
        sha256: xml.sha256,
        gzSha256: gz.gzSha256,
        contentSha256: xml.contentSha256,
        bytes: xml.bytes,
        gzBytes: gz.gzBytes,
        offers: written.offers,
        categories: this.categories,
        publishedAt: '',
        catalogDate: this.date,
      },
    };
  }

  /** Stop writing and the checker; safe to call at any point, also twice. */
  async dispose(): Promise<void> {
    this.writer?.abort();
    this.writer = null;
    if (this.check) await this.check.worker.terminate();
    this.check = null;
  }
}
