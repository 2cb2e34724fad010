import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/shared/logger.format.ts';
import { createLogger } from '../../src/shared/logger.ts';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, stream: { isTTY, write: (s: string) => lines.push(s) } };
}

describe('logger output', () => {
  it('on a terminal: one readable line per entry, clearing a half-drawn progress line first', () => {
    const { lines, stream } = sink(true);
    const log = createLogger({ stream }).child({ runId: 7 });
    log.warn({ swept: ['.tmp-1'], note: 'two words', ms: 12 }, 'removed temporary files');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\r\x1b\[K\d\d:\d\d:\d\d WARN {2}removed temporary files runId=7 swept=\[".tmp-1"\] note="two words" ms=12\n$/,
    );
  });

  it('piped or collected: JSON lines, as before', () => {
    const { lines, stream } = sink(false);
    createLogger({ stream }).info({ offers: 3 }, 'feed written');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 30,
      time: expect.any(Number),
      offers: 3,
      msg: 'feed written',
    });
  });

  it('keeps redacting secrets in the readable form, and honours the level', () => {
    const { lines, stream } = sink(true);
    const log = createLogger({ stream, level: 'warn' });
    log.info({ x: 1 }, 'not shown');
    log.error({ apiKey: 'k3y', req: { headers: { authorization: 'Bearer t0k' } } }, 'call failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'ERROR call failed apiKey=[redacted] req={"headers":{"authorization":"[redacted]"}}',
    );
    expect(lines[0]).not.toMatch(/k3y|t0k/);
  });

  it('formats a line that is not JSON as it is', () => {
    expect(formatLogLine('plain text')).toBe('plain text\n');
  });
});
