/**
 * What the operator surface reads from parts that live elsewhere (the event spool and the
 * recommendation service of issue 8). Each is optional: until a part plugs in, its figures are
 * absent from /metrics and the status page says "not available".
 */

/** The event spool's counters since the process started, and what waits in it now. */
export interface EventStats {
  /** Cumulative counts per outcome: accepted, sent, parked, dropped (and any other the spool has). */
  totals: Readonly<Record<string, number>>;
  /** Events waiting to be sent (spooled or parked). */
  pending: number;
  /** Age of the oldest pending event in seconds (0 when none). */
  oldestPendingSeconds: number;
}

/** Recommendation answers since the process started, per source: retailrocket, cache, fallback. */
export interface RecStats {
  bySource: Readonly<Record<string, number>>;
}

/** One circuit breaker towards Retail Rocket (e.g. per API). */
export interface BreakerState {
  name: string;
  state: 'closed' | 'open' | 'half_open';
  /** ISO 8601 time it opened, while open or half open. */
  openSince?: string;
}

export interface OpsProviders {
  events?: () => Promise<EventStats>;
  recommendations?: () => RecStats;
  breakers?: () => readonly BreakerState[];
}
