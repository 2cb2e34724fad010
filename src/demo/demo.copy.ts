import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyField = string | null;

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One field in COPY text format: NULL is \N; backslash, tab, newline and CR are escaped. */
export function copyField(value: CopyField): string {
  if (value === null) return '\\N';
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => ESCAPES[c]!) : value;
}

export function copyRow(fields: readonly CopyField[]): string {
  let line = copyField(fields[0] ?? null);
  for (let i = 1; i < fields.length; i++) line += `\t${copyField(fields[i] ?? null)}`;
  return `${line}\n`;
}

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
