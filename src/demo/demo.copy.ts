import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyRow, type CopyField } from '../catalog/copy-text.ts';

// COPY text formatting lives beside its parser (src/catalog/copy-text.ts); the sync's stage uses it too.
export { copyField, copyRow, type CopyField } from '../catalog/copy-text.ts';

/** Format rows and join them into chunks of about `size` characters: one stream write per chunk, not per row. */
export function* chunked(rows: Iterable<readonly CopyField[]>, size = 64 * 1024): Generator<string> {
  let buffer = '';
  for (const row of rows) {
    buffer += copyRow(row);
    if (buffer.length >= size) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}

/**
 * Stream rows into `COPY <target> FROM STDIN` as they are generated. pipeline() pulls the next
 * chunk only when the socket drained, so memory stays flat whatever the row count.
 */
export async function copyRows(
  client: pg.PoolClient,
  target: string,
  rows: Iterable<readonly CopyField[]>,
): Promise<void> {
  const sink = client.query(copyFrom(`copy ${target} from stdin`));
  await pipeline(Readable.from(chunked(rows)), sink);
}
