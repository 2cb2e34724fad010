/**
 * Freshness alerts as one verdict: figures in, broken rules out. No clock, no database: the
 * caller measures, this decides (like publishGate), so every rule is tested with plain numbers.
 */

export const ALERT_RULES = [
  'feed_not_pulled',
  'feed_stale',
  'pending_too_old',
  'dead_letters',
  'breaker_open',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export interface AlertThresholds {
  feedPullMaxAgeSeconds: number;
  feedMaxAgeSeconds: number;
  pendingMaxAgeSeconds: number;
  breakerOpenMaxSeconds: number;
}

/** What the rules look at. null: not known here (no database, part not plugged in). */
export interface AlertFigures {
  /** Whether a feed is published at all (nothing to pull otherwise). */
  feedPublished: boolean;
  /** Seconds since a client last got the whole feed (200/304); null: none since the process started. */
  lastPullAgeSeconds: number | null;
  /** Seconds the process has been serving (a fresh process has seen no pull yet). */
  uptimeSeconds: number;
  /** Seconds since the last successful feed run (published or unchanged), or since the live version. */
  feedAgeSeconds: number | null;
  oldestPendingPushSeconds: number | null;
  oldestPendingEventSeconds: number | null;
  deadLetters: number | null;
  /** Breakers open now, with seconds since they opened. */
  openBreakers: readonly { name: string; seconds: number }[];
}

export interface BrokenRule {
  rule: AlertRule;
  message: string;
}

/** 90 → "1m 30s", 10800 → "3h": how ages read in messages. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m && !d) parts.push(`${m}m`);
  if (s % 60 && !d && !h) parts.push(`${s % 60}s`);
  return parts.length ? parts.join(' ') : '0s';
}

export function alertVerdict(f: AlertFigures, t: AlertThresholds): BrokenRule[] {
  const broken: BrokenRule[] = [];
  if (f.feedPublished) {
    if (f.lastPullAgeSeconds === null) {
      if (f.uptimeSeconds > t.feedPullMaxAgeSeconds)
        broken.push({
          rule: 'feed_not_pulled',
          message: `no client has pulled the feed since this process started ${formatAge(f.uptimeSeconds)} ago (ALERT_FEED_PULL_MAX_AGE ${formatAge(t.feedPullMaxAgeSeconds)})`,
        });
    } else if (f.lastPullAgeSeconds > t.feedPullMaxAgeSeconds) {
      broken.push({
        rule: 'feed_not_pulled',
        message: `the feed was last pulled ${formatAge(f.lastPullAgeSeconds)} ago (ALERT_FEED_PULL_MAX_AGE ${formatAge(t.feedPullMaxAgeSeconds)})`,
      });
    }
  }
  if (!f.feedPublished) {
    broken.push({ rule: 'feed_stale', message: 'no feed is published' });
  } else if (f.feedAgeSeconds !== null && f.feedAgeSeconds > t.feedMaxAgeSeconds) {
    broken.push({
      rule: 'feed_stale',
      message: `the last successful feed is ${formatAge(f.feedAgeSeconds)} old (ALERT_FEED_MAX_AGE ${formatAge(t.feedMaxAgeSeconds)})`,
    });
  }
  const pending: string[] = [];
  if (f.oldestPendingPushSeconds !== null && f.oldestPendingPushSeconds > t.pendingMaxAgeSeconds)
    pending.push(`the oldest pending push is ${formatAge(f.oldestPendingPushSeconds)} old`);
  if (f.oldestPendingEventSeconds !== null && f.oldestPendingEventSeconds > t.pendingMaxAgeSeconds)
    pending.push(`the oldest pending event is ${formatAge(f.oldestPendingEventSeconds)} old`);
  if (pending.length)
    broken.push({
      rule: 'pending_too_old',
      message: `${pending.join('; ')} (ALERT_PENDING_MAX_AGE ${formatAge(t.pendingMaxAgeSeconds)})`,
    });
  if (f.deadLetters !== null && f.deadLetters > 0)
    broken.push({
      rule: 'dead_letters',
      message: `${f.deadLetters} dead letter${f.deadLetters === 1 ? '' : 's'}: pushes Retail Rocket refused for good (requeue them once fixed)`,
    });
  const open = f.openBreakers.filter((b) => b.seconds > t.breakerOpenMaxSeconds);
  if (open.length)
    broken.push({
      rule: 'breaker_open',
      message: `${open.map((b) => `breaker ${b.name} open for ${formatAge(b.seconds)}`).join('; ')} (ALERT_BREAKER_OPEN_MAX ${formatAge(t.breakerOpenMaxSeconds)})`,
    });
  return broken;
}
