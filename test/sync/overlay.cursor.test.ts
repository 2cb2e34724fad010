import { describe, expect, it } from 'vitest';
import { RowCursor } from '../../src/catalog/catalog.reader.ts';
import type { CopyRow } from '../../src/catalog/copy-text.ts';
import { OverlayCursor } from '../../src/sync/sync.diff.ts';

/** A cursor over these batches of [id, source] rows. */
function cursor(batches: string[][], source: string): RowCursor {
  async function* gen(): AsyncGenerator<CopyRow[]> {
    for (const b of batches) yield b.map((id) => [id, source]);
  }
  return new RowCursor(gen());
}

/** Every row, read as DiffSink reads: synchronously while buffered, awaiting ready() otherwise. */
async function drain(c: OverlayCursor): Promise<string[]> {
  const out: string[] = [];
  let left = await c.ready();
  while (left) {
    out.push(`${c.current()[0]}:${c.current()[1]}`);
    c.advance();
    left = c.hasBuffered() || (await c.ready());
  }
  return out;
}

describe('OverlayCursor (the state: delta rows over base rows, in id order)', () => {
  it('merges in id order, a delta row replacing the base row of the same id, across batch ends', async () => {
    const c = new OverlayCursor(
      cursor([['1', '3'], [], ['5', '7'], ['9']], 'base'),
      cursor([['0', '3'], ['4'], ['5'], ['9', '10']], 'delta'),
    );
    expect(await drain(c)).toEqual([
      '0:delta',
      '1:base',
      '3:delta',
      '4:delta',
      '5:delta',
      '7:base',
      '9:delta',
      '10:delta',
    ]);
  });

  it('reads either side alone', async () => {
    expect(await drain(new OverlayCursor(cursor([['1', '2']], 'base'), cursor([], 'delta')))).toEqual([
      '1:base',
      '2:base',
    ]);
    expect(await drain(new OverlayCursor(cursor([], 'base'), cursor([['1'], ['2']], 'delta')))).toEqual([
      '1:delta',
      '2:delta',
    ]);
    expect(await drain(new OverlayCursor(cursor([], 'base'), cursor([], 'delta')))).toEqual([]);
  });
});
