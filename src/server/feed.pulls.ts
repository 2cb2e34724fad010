export interface FeedPull {
  userAgent: string;
  /** ISO 8601 time of the last request from this user agent that got the feed (200) or a 304. */
  at: string;
  path: string;
  status: number;
  version: string | null;
}

export interface PullRegistry {
  record(pull: FeedPull): void;
  /** Most recent first. */
  list(): FeedPull[];
}

/**
 * Last pull per user agent, in memory, so `/healthz` shows when Retail Rocket last fetched the
 * feed. Bounded: a client sending random user agents cannot grow it.
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
