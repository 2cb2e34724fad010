import { count, formatDuration } from '../shared/text.ts';
import type { FeedSummary } from './feed.job.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The one-line summary every run ends with. */
export function summaryLine(kind: 'feed' | 'validate', s: FeedSummary): string {
  const codes = Object.entries(s.byCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const head =
    kind === 'validate'
      ? `validate: ${count(s.offers, 'offer')} valid`
      : `feed ${s.status}: ${count(s.offers, 'offer')}${s.version ? ` (version ${s.version})` : ''}`;
  const size = kind === 'feed' && s.bytes ? `, ${mb(s.bytes)} xml / ${mb(s.gzBytes)} gz` : '';
  return `${head}, ${count(s.rejectedProducts, 'product')} rejected, ${count(s.errors, 'error')}, ${count(s.warnings, 'warning')}${size}, ${formatDuration(s.seconds)}${
    codes ? ` [${codes}]` : ''
  }${s.reason ? ` (${s.reason})` : ''}`;
}
