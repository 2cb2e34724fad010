import type pg from 'pg';
import type { Config } from '../config.ts';
import type { RetailRocketClient } from '../rr/index.ts';
import type { Logger } from '../shared/logger.ts';

/**
 * The names the sync job, the pusher, the scheduler and the CLI agree on. The outbox and state
 * tables are in migrations/0002_sync.sql.
 */

/** What started a run (recorded in rr_sync.runs.trigger). */
export type RunTrigger = 'manual' | 'schedule' | 'startup' | 'admin';

/** Item keys of the outbox and of rr_sync.pushed. */
export type ItemKind = 'product' | 'stock' | 'group';
export const itemKey = {
  product: (id: string) => `product:${id}`,
  stock: (id: string, stockId: string) => `stock:${id}:${stockId}`,
  group: (groupId: string) => `group:${groupId}`,
};

/** Counts of a sync pass, in items (product records + product x stock records + group records). */
export interface ChangeCounts {
  new: number;
  changed: number;
  /** Known items that left the catalog or became invalid: pushed as isAvailable false. */
  unavailable: number;
  unchanged: number;
  /** Products rejected by validation in this pass (see the run report). */
  invalid: number;
}

/** What the pusher did (`rr-sync push`, and the push phase of `sync` / `resync`). */
export interface PushReport {
  pushed: number;
  deadLetters: number;
  /** Outbox rows still pending after the drain (due later, or Retail Rocket unreachable). */
  pending: number;
  /** True when the drain stopped because Retail Rocket could not be reached (exit 4). */
  unreachable: boolean;
  seconds: number;
}

export interface SyncDeps {
  catalog: pg.Pool;
  state: pg.Pool;
  config: Config;
  logger: Logger;
}

export interface PusherDeps {
  state: pg.Pool;
  rr: RetailRocketClient;
  config: Config;
  logger: Logger;
  /** Identifies this process in leases (hostname:pid:random). */
  owner?: string;
  /** Told every push outcome (for rr_sync_pushes_total); must not throw. */
  onOutcome?: (result: 'pushed' | 'retry' | 'dead_letter') => void;
}
