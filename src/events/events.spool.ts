import type { Queryable } from '../db/pool.ts';
import type { Logger } from '../shared/logger.ts';
import type { SpoolInput } from './events.contracts.ts';
import { insertEvents } from './events.repository.ts';

export interface SpoolWriterOptions {
  /** How long the first request of a group waits for others (default 2 ms). */
  windowMs?: number;
  /** Events per INSERT; a group is written at once when it reaches this (default 1000). */
  maxEvents?: number;
  /** INSERTs in flight at once (default 2): the next group need not wait for the last commit. */
  maxInFlight?: number;
  /** Called after each commit (e.g. to wake this process's sender). */
  onCommit?: () => void;
}

export interface SpoolWriterStats {
  /** INSERT statements (= transactions) that committed. */
  commits: number;
  /** Events they carried. */
  events: number;
  failures: number;
}

export interface SpoolWriter {
  /** Resolves with the spool ids (in input order) once the group holding `rows` committed. */
  write(rows: readonly SpoolInput[]): Promise<string[]>;
  stats(): SpoolWriterStats;
  /** Write what is collected and refuse further writes. */
  close(): Promise<void>;
}

interface Waiting {
  rows: readonly SpoolInput[];
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

/**
 * Group commit: concurrent writes are collected for `windowMs` (or until `maxEvents`) and stored
 * by one multi-row INSERT; each caller resolves when that statement committed, and all of them
 * reject together when it failed (nothing half-stored: one statement is one transaction). At most
 * `maxInFlight` INSERTs run at once: under load the groups grow instead of the transactions
 * multiplying, and a second group need not wait for the first one's commit (at 2,000 events/s
 * that wait was most of an event's p99).
 *
 * Per-visitor order: ids are drawn as an INSERT runs, so two INSERTs in flight interleave them. A
 * visitor's events must keep the order they arrived in (the sender sends them in id order): an
 * event whose visitor has an event in an INSERT in flight, or earlier in the queue held back for
 * that reason, waits for the next group. A caller's rows are never split across two INSERTs (a
 * batch is all or none), so a batch waits whole.
 */
export function createSpoolWriter(
  db: Queryable,
  logger: Logger,
  options: SpoolWriterOptions = {},
): SpoolWriter {
  const windowMs = options.windowMs ?? 2;
  const maxEvents = options.maxEvents ?? 1000;
  const maxInFlight = Math.max(1, options.maxInFlight ?? 2);
  const stats: SpoolWriterStats = { commits: 0, events: 0, failures: 0 };
  let queue: Waiting[] = [];
  let queued = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The INSERTs in flight, with the visitors each carries and its slot (its counter row). */
  const writing = new Map<Promise<void>, { visitors: ReadonlySet<string>; slot: number }>();
  let closed = false;

  /** The next group: queue order, leaving out what would overtake a visitor's earlier event. */
  function takeGroup(): Waiting[] {
    const blocked = new Set<string>();
    for (const { visitors } of writing.values()) for (const v of visitors) blocked.add(v);
    const group: Waiting[] = [];
    const rest: Waiting[] = [];
    let n = 0;
    for (const w of queue) {
      const fits = group.length === 0 || n + w.rows.length <= maxEvents;
      if (fits && !w.rows.some((r) => blocked.has(r.visitor))) {
        group.push(w);
        n += w.rows.length;
      } else {
        rest.push(w);
        for (const r of w.rows) blocked.add(r.visitor);
      }
    }
    queue = rest;
    queued -= n;
    return group;
  }

  async function writeGroup(group: Waiting[], slot: number): Promise<void> {
    const rows = group.flatMap((w) => w.rows);
    try {
      const ids = await insertEvents(db, rows, slot);
      stats.commits += 1;
      stats.events += rows.length;
      let at = 0;
      for (const w of group) {
        w.resolve(ids.slice(at, at + w.rows.length));
        at += w.rows.length;
      }
      options.onCommit?.();
    } catch (err) {
      stats.failures += 1;
      logger.warn({ err: (err as Error).message, events: rows.length }, 'could not spool events');
      for (const w of group) w.reject(err);
    }
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    while (writing.size < maxInFlight && queue.length > 0) {
      const group = takeGroup();
      if (group.length === 0) return; // all of it waits for an INSERT in flight
      const visitors = new Set(group.flatMap((w) => w.rows.map((r) => r.visitor)));
      const taken = new Set([...writing.values()].map((w) => w.slot));
      let slot = 0;
      while (taken.has(slot)) slot += 1;
      const done: Promise<void> = writeGroup(group, slot).finally(() => {
        writing.delete(done);
        // What arrived meanwhile has waited at least as long as the window: write it now.
        if (queue.length > 0) flush();
      });
      writing.set(done, { visitors, slot });
    }
  }

  return {
    write(rows) {
      if (closed) return Promise.reject(new Error('the event spool is closed'));
      if (rows.length === 0) return Promise.resolve([]);
      return new Promise<string[]>((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        queued += rows.length;
        if (queued >= maxEvents) flush();
        else if (!timer && writing.size < maxInFlight) timer = setTimeout(flush, windowMs);
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      while (queue.length > 0 || writing.size > 0) {
        flush();
        await Promise.all(writing.keys());
      }
      queue = [];
    },
  };
}
