import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyRow } from '../catalog/copy-text.ts';

/**
 * The products a sync pass found new, changed or gone, staged in a temporary table of the
 * connection that will apply them (so the pass writes nothing durable before the feed decision).
 * Rows go in through COPY, buffered to ~256 KiB, waiting on backpressure: memory stays flat.
 */
export type StageChange = 'new' | 'changed' | 'gone' | 'baseline' | 'same';

export interface StageRow {
  productId: string;
  change: StageChange;
  /** null for gone rows (the index keeps the last body). */
  digest: string | null;
  groupId: string | null;
  available: boolean | null;
  categoryIds: string[] | null;
  stockIds: string[] | null;
  /** IndexedProduct as JSON, or null for gone rows. */
  body: string | null;
}

const FLUSH_AT = 256 * 1024;

export class StageWriter {
  private stream: ReturnType<typeof copyFrom> | null = null;
  private buf = '';
  private failure: Error | null = null;
  rows = 0;

  constructor(private readonly client: pg.PoolClient) {}

  async open(): Promise<void> {
    await this.client.query(`create temp table sync_stage (
      product_id text collate "C" primary key, change text not null, digest text, group_id text,
      available boolean, category_ids jsonb, stock_ids jsonb, body jsonb)`);
    this.stream = this.client.query(copyFrom('copy sync_stage from stdin'));
    this.stream.on('error', (e: Error) => {
      this.failure ??= e;
    });
  }

  add(r: StageRow): Promise<void> | undefined {
    this.rows++;
    this.buf += copyRow([
      r.productId,
      r.change,
      r.digest,
      r.groupId,
      r.available === null ? null : r.available ? 't' : 'f',
      r.categoryIds && JSON.stringify(r.categoryIds),
      r.stockIds && JSON.stringify(r.stockIds),
      r.body,
    ]);
    if (this.buf.length >= FLUSH_AT) return this.flush();
    return undefined;
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const chunk = this.buf;
    this.buf = '';
    if (!this.stream!.write(chunk)) await once(this.stream!, 'drain');
  }

  async close(): Promise<void> {
    if (this.buf) await this.flush();
    if (this.failure) throw this.failure;
    const s = this.stream!;
    this.stream = null;
    await new Promise<void>((resolve, reject) => {
      s.once('finish', resolve);
      s.once('error', reject);
      s.end();
    });
  }
}
