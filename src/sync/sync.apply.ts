import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import type { Queryable } from '../db/pool.ts';
import type { Logger } from '../shared/logger.ts';
import { enqueue, repushPending, type OutboxItem } from './outbox.repository.ts';
import { itemKey, type ItemKind } from './sync.contracts.ts';
import {
  groupRecord,
  recordHash,
  sameJson,
  stockRecord,
  unavailable,
  type IndexedProduct,
  type ProductBody,
} from './product-api.mapping.ts';

export interface ApplyCounts {
  new: number;
  changed: number;
  unavailable: number;
  unchanged: number;
  enqueued: number;
  groupsEnqueued: number;
}

export interface ApplyOptions {
  runId: number | null;
  /** Enqueue every item, except those confirmed since the resync began (resumable). */
  full: boolean;
  /** The state was empty: record it from this pass, push nothing (the feed carries it). */
  baseline: boolean;
  dryRun: boolean;
  /** JSON lines, one per enqueued item: {key, kind, fields}. */
  diffReportPath: string;
  logger?: Logger;
  /** Set when the category paths changed: recorded with the state. */
  categoryPaths: ReadonlyMap<string, string> | null;
  /** Rows of the state before this run (the pass streamed them): sizes the delta. */
  stateRows: number;
}

const FETCH = 500;

type Change = 'new' | 'changed' | 'unavailable' | 'resync';
type Pending = OutboxItem & { change: Change };

const withRun = (items: Pending[], runId: number | null): OutboxItem[] => items.map((i) => ({ ...i, runId }));

interface Item {
  key: string;
  kind: ItemKind;
  stockId: string | null;
  body: ProductBody;
}

function itemsOf(p: IndexedProduct): Item[] {
  const id = String(p.product.id);
  const out: Item[] = [{ key: itemKey.product(id), kind: 'product', stockId: null, body: p.product }];
  for (const [stockId, s] of Object.entries(p.stocks)) {
    out.push({ key: itemKey.stock(id, stockId), kind: 'stock', stockId, body: stockRecord(p.product, s) });
  }
  return out;
}

/** Top-level fields whose values differ (for the diff report). */
function changedFields(before: object | undefined, after: object): string[] {
  if (!before) return Object.keys(after).sort();
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !sameJson(a[k] ?? null, b[k] ?? null)).sort();
}

class DiffReport {
  private readonly out;
  private failure: Error | null = null;
  constructor(readonly path: string) {
    this.out = createWriteStream(`${path}.tmp`);
    // A full disk must fail the apply (rolled back), never end the process with an unhandled 'error'.
    this.out.on('error', (e: Error) => {
      this.failure ??= e;
    });
  }
  async line(o: object): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.out.write(`${JSON.stringify(o)}\n`)) await once(this.out, 'drain');
  }
  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    this.out.end();
    await finished(this.out);
    await rename(`${this.path}.tmp`, this.path);
  }
  async abort(): Promise<void> {
    this.out.destroy();
    await rm(`${this.path}.tmp`, { force: true }).catch(() => undefined);
  }
}

/**
 * What Retail Rocket will hold for these keys once the outbox is pushed: the pending row's hash,
 * else the one confirmed (since `since`). A record equal to a confirmed one while a different one is
 * pending is not "known": the pending body would overwrite it.
 */
async function knownHashes(
  db: pg.PoolClient,
  keys: string[],
  since: Date | null,
): Promise<Map<string, string>> {
  const { rows } = await db.query<{ key: string; hash: string; pending: boolean }>(
    `select key, hash, true as pending from rr_sync.outbox where key = any($1)
     union all
     select key, hash, false from rr_sync.pushed
      where key = any($1) and ($2::timestamptz is null or pushed_at >= $2)`,
    [keys, since],
  );
  const m = new Map<string, string>();
  for (const r of rows) if (r.pending || !m.has(r.key)) m.set(r.key, r.hash);
  return m;
}

/**
 * Apply a sync pass's staged changes (sync_stage on `db`) in ONE transaction: enqueue the Product
 * API records that differ from what Retail Rocket was given (product base, product x stock, and the
 * groups they belong to), and record the new state in rr_sync.catalog_items. Work and writes are
 * proportional to the changes (a full resync: to the catalog). A dry run computes the same and
 * rolls back. Memory: one FETCH batch and the set of touched group ids.
 */
export async function applyStage(db: pg.PoolClient, opts: ApplyOptions): Promise<ApplyCounts> {
  const counts: ApplyCounts = {
    new: 0,
    changed: 0,
    unavailable: 0,
    unchanged: 0,
    enqueued: 0,
    groupsEnqueued: 0,
  };
  const report = new DiffReport(opts.diffReportPath);
  const dirtyGroups = new Set<string>();
  // Groups a member's own product record is pushed for in this run. A products/{id} record says
  // nothing of a group: Retail Rocket may take it as a product on its own (the emulator does), so
  // the group's record is pushed again after it (the pusher holds a group back while a member's
  // product record is pending), even when the group's record did not change.
  const regroup = new Set<string>();
  let committed = false;
  const t0 = performance.now();
  await db.query('begin');
  try {
    let resyncSince: Date | null = null;
    if (opts.full && !opts.dryRun) {
      // An unfinished resync is continued while its records are still in the outbox (a resync
      // interrupted mid-push). Once they are all pushed (or dead letters) it is over: without
      // this, every later `resync --full` continued the first one and pushed almost nothing.
      const { rows } = await db.query<{ id: string; started_at: Date; under_way: boolean }>(
        `select id, started_at, exists(select 1 from rr_sync.outbox where change = 'resync') as under_way
           from rr_sync.resyncs where finished_at is null order by id desc limit 1`,
      );
      if (rows[0]?.under_way) resyncSince = rows[0].started_at;
      else {
        if (rows[0])
          await db.query('update rr_sync.resyncs set finished_at = now() where id = $1', [rows[0].id]);
        const ins = await db.query<{ started_at: Date }>(
          'insert into rr_sync.resyncs (run_id) values ($1) returning started_at',
          [opts.runId],
        );
        resyncSince = ins.rows[0].started_at;
      }
    }
    // A temporary table is never analyzed by autovacuum: without its size the planner guesses.
    await db.query('analyze sync_stage (product_id, change)');
    // The index as Retail Rocket has it: the delta's row over the base's (see catalog_items).
    await db.query(`declare stage_cur no scroll cursor for
      select s.product_id, s.change, s.group_id, s.body::text as body,
             coalesce(d.body, b.body)::text as old_body, coalesce(d.gone, b.gone) as old_gone,
             case when d.product_id is null then b.group_id else d.group_id end as old_group_id
        from sync_stage s
        left join rr_sync.catalog_items_delta d on d.product_id = s.product_id
        left join rr_sync.catalog_items_base b on b.product_id = s.product_id and d.product_id is null
       order by s.product_id`);
    // The outbox writes of one batch run on the server while this process compares the next one.
    // One statement at a time on the connection (a pg client must not be given a query while
    // another runs): the next batch is fetched once the previous write is done. (Waits are timed.)
    const fetchBatch = () =>
      db.query<{
        product_id: string;
        change: string;
        group_id: string | null;
        body: string | null;
        old_body: string | null;
        old_gone: boolean | null;
        old_group_id: string | null;
      }>(`fetch ${FETCH} from stage_cur`);
    let enqueuing: Promise<void> = Promise.resolve();
    let msFetch = 0;
    let msEnqueue = 0;
    let tFetch = performance.now();
    let { rows } = await fetchBatch();
    msFetch += performance.now() - tFetch;
    /** Product id -> its group, for the grouped products of the batch being compared. */
    const groupOf = new Map<string, string>();
    try {
      while (rows.length > 0) {
        const batch: Pending[] = [];
        for (const r of rows) {
          const next = r.body ? (JSON.parse(r.body) as IndexedProduct) : null;
          const prev = r.old_body ? (JSON.parse(r.old_body) as IndexedProduct) : null;
          if (r.group_id) dirtyGroups.add(r.group_id);
          if (r.old_group_id) dirtyGroups.add(r.old_group_id);
          if (r.group_id && next) groupOf.set(r.product_id, r.group_id);
          const after = next ? itemsOf(next) : [];
          // A product told gone was last given as unavailable: that is what it is compared with.
          const prevItems = prev ? itemsOf(prev) : [];
          const before = new Map(
            prevItems.map((i) => [i.key, r.old_gone ? { ...i, body: unavailable(i.body) } : i]),
          );
          for (const item of after) {
            const old = before.get(item.key);
            before.delete(item.key);
            if (opts.baseline) {
              counts.new++;
              continue;
            }
            const same = old !== undefined && sameJson(old.body, item.body);
            if (same && !opts.full) {
              counts.unchanged++;
              continue;
            }
            if (same) counts.unchanged++;
            else if (old) counts.changed++;
            else counts.new++;
            batch.push({
              key: item.key,
              kind: item.kind,
              itemId: r.product_id,
              stockId: item.stockId,
              body: item.body,
              hash: recordHash(item.body),
              change: same ? 'resync' : old ? 'changed' : 'new',
            });
            await report.line({
              key: item.key,
              kind: same ? 'resync' : old ? 'changed' : 'new',
              fields: changedFields(old?.body, item.body),
            });
          }
          // Items Retail Rocket has that this pass no longer carries: the product left, became
          // invalid, or lost a stock. The Product API has no delete: they are pushed as unavailable.
          for (const old of before.values()) {
            if (r.old_gone) continue; // told already
            counts.unavailable++;
            if (opts.baseline) continue;
            const body = unavailable(old.body);
            batch.push({
              key: old.key,
              kind: old.kind,
              itemId: r.product_id,
              stockId: old.stockId,
              body,
              hash: recordHash(body),
              change: 'unavailable',
            });
            await report.line({ key: old.key, kind: 'unavailable', fields: ['isAvailable'] });
          }
        }
        const tEnqueue = performance.now();
        await enqueuing;
        msEnqueue += performance.now() - tEnqueue;
        let toSend = batch;
        if (opts.full && batch.length > 0) {
          const known = await knownHashes(
            db,
            batch.map((i) => i.key),
            resyncSince,
          );
          toSend = batch.filter((i) => known.get(i.key) !== i.hash);
        }
        for (const i of toSend) {
          const groupId = i.kind === 'product' ? groupOf.get(i.itemId) : undefined;
          if (groupId) regroup.add(groupId);
        }
        groupOf.clear();
        tFetch = performance.now();
        ({ rows } = await fetchBatch());
        msFetch += performance.now() - tFetch;
        enqueuing = enqueue(db, withRun(toSend, opts.runId)).then((n) => {
          counts.enqueued += n;
        });
        enqueuing.catch(() => undefined); // awaited next round or below
      }
    } catch (err) {
      await enqueuing.catch(() => undefined); // the rollback waits for the write under way
      throw err;
    }
    const tEnqueue = performance.now();
    await enqueuing;
    msEnqueue += performance.now() - tEnqueue;
    await db.query('close stage_cur');
    const msItems = Math.round(performance.now() - t0);

    // The new state: what the published feed (and this run's pushes) give Retail Rocket. A sync
    // writes its changes to the delta (see migrations/0003_catalog_delta.sql); the first sync and a
    // full resync, which write every product, go to the base.
    const bulk = opts.baseline || opts.full;
    if (bulk) await compact(db);
    await db.query(
      `insert into rr_sync.${bulk ? 'catalog_items_base' : 'catalog_items_delta'} as c
         (product_id, group_id, digest, available, gone, category_ids, stock_ids, body, source, run_id, updated_at)
       select product_id, group_id, digest, available, false,
              array(select jsonb_array_elements_text(category_ids)), array(select jsonb_array_elements_text(stock_ids)),
              body, $2, $1, now()
         from sync_stage where change in ('new', 'changed', 'baseline')
       on conflict (product_id) do update
         set group_id = excluded.group_id, digest = excluded.digest, available = excluded.available, gone = false,
             category_ids = excluded.category_ids, stock_ids = excluded.stock_ids, body = excluded.body,
             source = excluded.source, run_id = excluded.run_id, updated_at = now()`,
      [opts.runId, opts.full ? 'resync' : 'feed'],
    );
    await db.query(
      `insert into rr_sync.${bulk ? 'catalog_items_base' : 'catalog_items_delta'} as c
         (product_id, group_id, digest, available, gone, category_ids, stock_ids, body, source, run_id, updated_at)
       select i.product_id, i.group_id, 'gone', false, true, i.category_ids, i.stock_ids,
              jsonb_set(i.body, '{product,isAvailable}', 'false'), i.source, $1, now()
         from sync_stage s
         cross join lateral (
           select product_id, group_id, category_ids, stock_ids, body, source
             from rr_sync.catalog_items_delta d where d.product_id = s.product_id
           union all
           select product_id, group_id, category_ids, stock_ids, body, source
             from rr_sync.catalog_items_base b where b.product_id = s.product_id
           limit 1) i
        where s.change = 'gone'
       on conflict (product_id) do update
         set gone = true, available = false, digest = 'gone', run_id = $1, updated_at = now(), body = excluded.body`,
      [opts.runId],
    );
    const deltaRows = bulk ? 0 : await countDelta(db);
    const compacted = !bulk && deltaRows > Math.max(compaction.minRows, opts.stateRows * compaction.ratio);
    if (compacted) await compact(db);
    // Statistics for the next reads (the group query below, the storefront). ANALYZE samples: cheap.
    // (The base, when written, is vacuumed and analyzed after the commit.)
    await db.query('analyze rr_sync.catalog_items_delta');

    if (opts.categoryPaths) {
      const paths = opts.categoryPaths;
      await db.query('delete from rr_sync.category_paths');
      await db.query(
        'insert into rr_sync.category_paths (id, path) select * from unnest($1::text[], $2::text[])',
        [[...paths.keys()], [...paths.values()]],
      );
    }
    const msState = Math.round(performance.now() - t0) - msItems;
    if (!opts.baseline) await applyGroups(db, opts, dirtyGroups, regroup, resyncSince, counts, report);
    opts.logger?.info(
      {
        msItems,
        msFetch: Math.round(msFetch),
        msEnqueue: Math.round(msEnqueue),
        msState,
        msGroups: Math.round(performance.now() - t0) - msItems - msState,
        groups: dirtyGroups.size,
        deltaRows,
        compacted,
      },
      'sync changes applied',
    );
    // The diff report is complete before the changes commit: a failed write rolls them back.
    await report.close();
    if (opts.dryRun) {
      await db.query('rollback');
    } else {
      await db.query('commit');
      committed = true;
      if (bulk || compacted) await vacuumBase(db, opts.logger);
    }
    return counts;
  } catch (err) {
    if (!committed) await db.query('rollback').catch(() => undefined);
    await report.abort();
    throw err;
  }
}

/**
 * The delta is folded into the base once it holds more than `ratio` of the products the state
 * knows, and more than `minRows`: a compaction rewrites each base page it touches once for all the
 * changes on it, while a bigger delta makes every sync's state stream longer. (Tests set both to 0
 * to compact after every sync.)
 */
export const compaction = { ratio: 0.2, minRows: 1000 };

async function countDelta(db: pg.PoolClient): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'select count(*)::int as n from rr_sync.catalog_items_delta',
  );
  return rows[0].n;
}

/**
 * After the base was written in bulk: VACUUM sets its visibility map, so that the next syncs stream
 * the state from catalog_items_base_stream_idx alone (an index-only scan), and ANALYZE gives the
 * planner its size. Not in the transaction (VACUUM cannot be); a failure only costs speed.
 */
async function vacuumBase(db: pg.PoolClient, logger?: Logger): Promise<void> {
  const t0 = performance.now();
  try {
    await db.query('vacuum (analyze) rr_sync.catalog_items_base');
    logger?.info({ ms: Math.round(performance.now() - t0) }, 'sync state base vacuumed');
  } catch (err) {
    logger?.warn(
      { err: (err as Error).message },
      'could not vacuum the sync state base: the next sync reads it slower',
    );
  }
}

/** Fold the delta into the base (in the caller's transaction). */
async function compact(db: pg.PoolClient): Promise<void> {
  await db.query(
    `insert into rr_sync.catalog_items_base as c
       (product_id, group_id, digest, available, gone, category_ids, stock_ids, body, source, run_id, updated_at)
     select product_id, group_id, digest, available, gone, category_ids, stock_ids, body, source, run_id, updated_at
       from rr_sync.catalog_items_delta
     on conflict (product_id) do update
       set group_id = excluded.group_id, digest = excluded.digest, available = excluded.available,
           gone = excluded.gone, category_ids = excluded.category_ids, stock_ids = excluded.stock_ids,
           body = excluded.body, source = excluded.source, run_id = excluded.run_id, updated_at = excluded.updated_at`,
  );
  // Not DELETE: TRUNCATE writes no WAL per row. Its lock holds readers of the index until commit.
  await db.query('truncate rr_sync.catalog_items_delta');
}

/** Each group's members as the index has them (callers add WHERE, GROUP BY and ORDER BY). */
const GROUP_MEMBERS_SQL = `
  select group_id, jsonb_agg(body->'product' order by product_id) filter (where not gone) as live,
         jsonb_agg(body->'product' order by product_id) as all_members
    from rr_sync.catalog_items`;

interface GroupMembersRow {
  group_id: string;
  live: ProductBody[] | null;
  all_members: ProductBody[];
}

/** The productsgroup record of a group: its live members, or all of them unavailable. */
function groupItem(r: GroupMembersRow): Omit<OutboxItem, 'change'> {
  const body = groupRecord(r.group_id, r.live ?? r.all_members.map((m) => unavailable(m)));
  return {
    key: itemKey.group(r.group_id),
    kind: 'group',
    itemId: r.group_id,
    stockId: null,
    body,
    hash: recordHash(body),
  };
}

/**
 * The current records of the groups these products are members of, from the index: what must be
 * pushed again after their own product records (a requeued dead letter).
 */
export async function groupRecordsOfMembers(
  db: Queryable,
  productIds: readonly string[],
): Promise<Omit<OutboxItem, 'change'>[]> {
  if (productIds.length === 0) return [];
  const { rows } = await db.query<GroupMembersRow>(
    `${GROUP_MEMBERS_SQL}
      where group_id in (select group_id from rr_sync.catalog_items
                          where product_id = any($1::text[]) and group_id is not null)
      group by group_id order by group_id`,
    [productIds],
  );
  return rows.map(groupItem);
}

/** Rebuild the productsgroup record of every touched group (every group on a full resync). */
async function applyGroups(
  db: pg.PoolClient,
  opts: ApplyOptions,
  dirty: Set<string>,
  regroup: ReadonlySet<string>,
  resyncSince: Date | null,
  counts: ApplyCounts,
  report: DiffReport,
): Promise<void> {
  if (!opts.full && dirty.size === 0) return;
  await db.query(
    `declare group_cur no scroll cursor for ${GROUP_MEMBERS_SQL}
        where group_id is not null and ($1::boolean or group_id = any($2))
        group by group_id order by group_id`,
    [opts.full, [...dirty]],
  );
  // Like the items: the outbox writes of one batch run while the next one is built.
  const fetchGroups = () => db.query<GroupMembersRow>(`fetch ${FETCH} from group_cur`);
  let enqueuing: Promise<void> = Promise.resolve();
  let { rows } = await fetchGroups();
  const seen = new Set<string>();
  try {
    while (rows.length > 0) {
      for (const r of rows) seen.add(r.group_id);
      const items: Pending[] = rows.map((r) => ({
        ...groupItem(r),
        change: opts.full ? 'resync' : r.live ? 'changed' : 'unavailable',
      }));
      await enqueuing;
      // A group is pushed when its record differs from the last one pushed (or pending), or
      // again after a member's own product record (see `regroup` above).
      const known = await knownHashes(
        db,
        items.map((i) => i.key),
        opts.full ? resyncSince : null,
      );
      const toSend: Pending[] = [];
      const repush: string[] = [];
      for (const i of items) {
        const same = known.get(i.key) === i.hash;
        if (same && !regroup.has(i.itemId)) continue;
        toSend.push(i);
        if (same) {
          // Unchanged: pushed again after its members (a pending or in-flight row gets a new version).
          i.change = 'resync';
          counts.unchanged++;
          repush.push(i.key);
          await report.line({ key: i.key, kind: 'resync', fields: [] });
          continue;
        }
        if (i.change === 'changed' && !known.has(i.key)) i.change = 'new';
        if (i.change === 'new') counts.new++;
        else if (i.change === 'unavailable') counts.unavailable++;
        else counts.changed++;
        await report.line({ key: i.key, kind: i.change, fields: ['products'] });
      }
      ({ rows } = await fetchGroups());
      enqueuing = repushPending(db, repush)
        .then(async (bumped) => bumped + (await enqueue(db, withRun(toSend, opts.runId))))
        .then((n) => {
          counts.enqueued += n;
          counts.groupsEnqueued += n;
        });
      enqueuing.catch(() => undefined); // awaited next round or below
    }
  } catch (err) {
    await enqueuing.catch(() => undefined); // the rollback waits for the write under way
    throw err;
  }
  await enqueuing;
  await db.query('close group_cur');
  // A group none of whose products names it any more (its members moved to other groups) has no
  // record to push: one still pending would put those members back into it after their new group.
  const vanished = opts.full ? [] : [...dirty].filter((g) => !seen.has(g)).map(itemKey.group);
  if (vanished.length > 0) {
    await db.query(`delete from rr_sync.outbox where key = any($1::text[]) and kind = 'group'`, [vanished]);
  }
}
