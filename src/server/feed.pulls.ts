export interface FeedPull {
  userAgent: string;
  /** The client's address as seen when the request arrived (a closed socket no longer knows it). */
  remoteAddress: string | null;
  /** ISO 8601 time the request arrived. */
  at: string;
  path: string;
  /** 200 (every byte sent), 304, or 499 when the client left or stalled before the last byte. */
  status: number;
  /** Body bytes sent (0 for a 304 or a HEAD). */
  bytes: number;
  /** Why a 499 ended early: `stalled`, or the stream error code (e.g. ERR_STREAM_PREMATURE_CLOSE). */
  interrupted?: string;
  version: string | null;
}

export interface PullRegistry {
  record(pull: FeedPull): void;
  /** Most recently finished first. */
  list(): FeedPull[];
}

/**
 * Last pull per user agent, in memory, so `/healthz` shows when Retail Rocket last fetched the
 * feed and whether it got all of it. Recorded when the response ends, with its real outcome.
 * Bounded: a client sending random user agents cannot grow it.
 */
export function createPullRegistry(maxAgents = 20): PullRegistry {
  const byAgent = new Map<string, FeedPull>();
  return {
    record(pull) {
      byAgent.delete(pull.userAgent);
      byAgent.set(pull.userAgent, pull);
      if (byAgent.size > maxAgents) byAgent.delete(byAgent.keys().next().value as string);
    },
    list() {
      return [...byAgent.values()].reverse();
    },
  };
}
