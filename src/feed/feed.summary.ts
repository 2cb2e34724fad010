import type { FeedSummary } from './feed.job.ts';

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The one-line summary every run ends with. */
export function summaryLine(kind: 'feed' | 'validate', s: FeedSummary): string {
  const codes = Object.entries(s.byCode)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const head =
    kind === 'validate'
      ? `validate: ${s.offers} offers valid`
      : `feed ${s.status}: ${s.offers} offers${s.version ? ` (version ${s.version})` : ''}`;
  const size = kind === 'feed' && s.bytes ? `, ${mb(s.bytes)} xml / ${mb(s.gzBytes)} gz` : '';
  return `${head}, ${s.rejectedProducts} products rejected, ${s.errors} errors, ${s.warnings} warnings${size}, ${s.seconds.toFixed(1)} s${
    codes ? ` [${codes}]` : ''
  }${s.reason ? ` (${s.reason})` : ''}`;
}
