import { z } from 'zod';
import { HttpError } from './emulator.http.ts';
import type { RateLimits } from './emulator.types.ts';

/** §1.3: tracking 100/s, recommendations 200/s, the site 600/s, each per partnerId. */
export const DEFAULT_LIMITS: RateLimits = { tracking: 100, recommendations: 200, site: 600 };

export type LimitFamily = 'tracking' | 'recommendations' | 'other';

const LimitsPatch = z
  .object({
    tracking: z.number().int().min(0),
    recommendations: z.number().int().min(0),
    site: z.number().int().min(0),
  })
  .partial()
  .strict();

export function mergeLimits(current: RateLimits, patch: unknown): RateLimits {
  const parsed = LimitsPatch.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'limits';
    throw new HttpError(400, {
      error: 'validation',
      field,
      rule: issue?.code ?? 'invalid',
      message: `${field}: ${issue?.message}`,
    });
  }
  return { ...current, ...parsed.data };
}

/** Timestamps of the requests admitted in the last window, oldest first. */
class SlidingLog {
  private readonly times: number[] = [];
  private head = 0;

  count(now: number, windowMs: number): number {
    while (this.head < this.times.length && (this.times[this.head] as number) <= now - windowMs)
      this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /** Milliseconds until the oldest admitted request leaves the window. */
  waitMs(now: number, windowMs: number): number {
    const oldest = this.times[this.head];
    return oldest === undefined ? 0 : Math.max(0, oldest + windowMs - now);
  }

  add(now: number): void {
    this.times.push(now);
  }
}

/**
 * Per-partner rate limits over a 1-second sliding window (INFERRED: Retail Rocket documents the
 * rates and the 429 but no window or headers). A refused request is not counted.
 */
export class RateLimiter {
  private readonly logs = new Map<string, SlidingLog>();

  constructor(
    public limits: RateLimits,
    private readonly windowMs = 1000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Throws a 429 HttpError with Retry-After (whole seconds, at least 1) when over a limit. */
  admit(partnerId: string, family: LimitFamily): void {
    const t = this.now();
    const checks: [string, number][] = [[`${partnerId}\u0000site`, this.limits.site]];
    if (family !== 'other') checks.push([`${partnerId}\u0000${family}`, this.limits[family]]);
    for (const [key, limit] of checks) {
      if (limit <= 0) continue;
      const log = this.log(key);
      if (log.count(t, this.windowMs) >= limit) {
        const seconds = Math.max(1, Math.ceil(log.waitMs(t, this.windowMs) / 1000));
        throw new HttpError(
          429,
          {
            error: 'too_many_requests',
            message: 'limit per interval exceeded',
            limit,
            windowMs: this.windowMs,
          },
          { 'retry-after': String(seconds) },
        );
      }
    }
    for (const [key, limit] of checks) if (limit > 0) this.log(key).add(t);
  }

  reset(): void {
    this.logs.clear();
  }

  private log(key: string): SlidingLog {
    let log = this.logs.get(key);
    if (!log) {
      log = new SlidingLog();
      this.logs.set(key, log);
    }
    return log;
  }
}
