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

/**
 * A dry run's line says what a real run would do, never what it did: it publishes nothing, and
 * exits as the real run would (3 when the gate would refuse), so it works as a pre-flight check.
 */
export function dryRunLine(s: FeedSummary): string {
  const rest = `${s.rejectedProducts} products rejected, ${s.errors} errors, ${s.warnings} warnings, ${s.seconds.toFixed(1)} s`;
  if (s.status === 'refused')
    return `dry run: the publish gate would refuse this feed: ${s.reason ?? ''} (${rest}); nothing was published (--force overrides the gate)`;
  if (s.status === 'unchanged')
    return `dry run: would publish nothing: the catalog is the same as the published version ${s.version ?? ''} (${rest})`;
  return `dry run: would publish ${s.offers} offers, ${mb(s.bytes)} xml / ${mb(s.gzBytes)} gz (${rest}); nothing was published`;
}
