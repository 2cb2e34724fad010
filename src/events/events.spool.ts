import type { Queryable } from '../db/pool.ts';
import type { Logger } from '../shared/logger.ts';
import type { SpoolInput } from './events.contracts.ts';
import { insertEvents } from './events.repository.ts';

export interface SpoolWriterOptions {
  /** How long the first request of a group waits for others (default 2 ms). */
  windowMs?: number;
  /** Events per INSERT; a group is written at once when it reaches this (default 1000). */
  maxEvents?: number;
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
 * reject together when it failed (nothing half-stored: one statement is one transaction). Only
 * one INSERT is in flight per writer: while it commits, the next group collects, so under load
 * the groups grow instead of the transactions multiplying, and a visitor's events commit in the
 * order they arrived. A caller's rows are never split across two INSERTs (a batch is all or none).
 */
export function createSpoolWriter(
  db: Queryable,
  logger: Logger,
  options: SpoolWriterOptions = {},
): SpoolWriter {
  const windowMs = options.windowMs ?? 2;
  const maxEvents = options.maxEvents ?? 1000;
  const stats: SpoolWriterStats = { commits: 0, events: 0, failures: 0 };
  let queue: Waiting[] = [];
  let queued = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;

  function takeGroup(): Waiting[] {
    const group: Waiting[] = [];
    let n = 0;
    while (queue.length > 0 && (group.length === 0 || n + queue[0]!.rows.length <= maxEvents)) {
      const w = queue.shift()!;
      group.push(w);
      n += w.rows.length;
    }
    queued -= n;
    return group;
  }

  async function writeGroup(group: Waiting[]): Promise<void> {
    const rows = group.flatMap((w) => w.rows);
    try {
      const ids = await insertEvents(db, rows);
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
    if (writing || queue.length === 0) return;
    const group = takeGroup();
    writing = writeGroup(group).finally(() => {
      writing = undefined;
      // What arrived meanwhile has waited at least as long as the window: write it now.
      if (queue.length > 0) flush();
    });
  }

  return {
    write(rows) {
      if (closed) return Promise.reject(new Error('the event spool is closed'));
      if (rows.length === 0) return Promise.resolve([]);
      return new Promise<string[]>((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        queued += rows.length;
        if (queued >= maxEvents) flush();
        else if (!timer && !writing) timer = setTimeout(flush, windowMs);
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      while (queue.length > 0 || writing) {
        flush();
        await writing;
      }
      queue = [];
    },
  };
}
