import cron from 'node-cron';

/** How far back previousFireTime looks: each step is one node-cron match (~20 µs). */
const MAX_LOOKBACK_DAYS = 45;
const MINUTE = 60_000;

/**
 * The identity of a cron tick, shared by every instance: the slot node-cron fired for (never the
 * late wall-clock moment the callback ran), to the second. Minute crons fire at :00, so their ticks
 * are whole minutes; a seconds cron (`*\/2 * * * * *`) gets a tick per slot instead of one a minute.
 */
export function tickOf(slot: Date): Date {
  return new Date(Math.floor(slot.getTime() / 1000) * 1000);
}

/**
 * The latest fire time of `expression` at or before `now` in `timeZone`, or null when it has not
 * fired within MAX_LOOKBACK_DAYS (a yearly cron): node-cron only walks forwards, so this walks back
 * one minute at a time and asks node-cron whether the minute matches (its own DST rules apply).
 */
export function previousFireTime(expression: string, timeZone: string | undefined, now: Date): Date | null {
  const seconds = [...cron.parse(expression).second].sort((a, b) => a - b);
  const task = cron.createTask(expression, () => undefined, { timezone: timeZone });
  try {
    const nowMs = now.getTime();
    let minute = Math.floor(nowMs / MINUTE) * MINUTE;
    const oldest = nowMs - MAX_LOOKBACK_DAYS * 24 * 60 * MINUTE;
    for (; minute >= oldest; minute -= MINUTE) {
      // The second field is independent of the others: one probe tells whether the minute matches.
      if (!task.match(new Date(minute + seconds[0] * 1000))) continue;
      for (let i = seconds.length - 1; i >= 0; i--) {
        const at = minute + seconds[i] * 1000;
        if (at <= nowMs) return new Date(at);
      }
    }
    return null;
  } finally {
    void task.destroy();
  }
}

/**
 * Startup catch-up verdict: the feed is stale when no successful feed is known, or the last one
 * is older than the previous FEED_CRON fire time (that tick's run was missed or failed).
 */
export function feedIsStale(lastSuccess: Date | null, previousFire: Date | null): boolean {
  if (lastSuccess === null) return true;
  return previousFire !== null && lastSuccess.getTime() < previousFire.getTime();
}
