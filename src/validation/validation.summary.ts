import { severityOf, type ReasonCode } from './validation.codes.ts';

/** An id as a reader can find it in the report: plain when it is, quoted when odd, NULL when absent. */
function showId(id: string | null): string {
  if (id === null) return 'NULL';
  return /^[\p{L}\p{N}_./-]+$/u.test(id) && id.length <= 60 ? id : JSON.stringify(id.slice(0, 60));
}

/**
 * Lines naming what was left out (errors) and what was kept with a warning, with the first ids
 * per reason code, e.g. `  product.price.not_positive (2): 100101, 100202`.
 */
export function issueLines(
  byCode: Partial<Record<ReasonCode, number>>,
  firstIds: Partial<Record<ReasonCode, (string | null)[]>>,
  max = 5,
): string[] {
  const lines: string[] = [];
  for (const severity of ['error', 'warning'] as const) {
    const codes = (Object.keys(byCode) as ReasonCode[]).filter((c) => severityOf(c) === severity);
    if (codes.length === 0) continue;
    lines.push(severity === 'error' ? 'left out (first ids per reason code):' : 'kept, with a warning:');
    for (const code of codes) {
      const n = byCode[code] ?? 0;
      const ids = firstIds[code] ?? [];
      // Ids are distinct (a duplicate id counts once per row), so "more" only when the list is full.
      const more = n > ids.length && ids.length >= max ? ', …' : '';
      lines.push(`  ${code} (${n}): ${ids.map(showId).join(', ')}${more}`);
    }
  }
  return lines;
}
