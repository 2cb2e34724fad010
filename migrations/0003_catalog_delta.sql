-- The published-catalog index as a base and a delta (issue: the state write of a sync must be
-- proportional to the number of changes, not to the catalog).
--
-- Measured at 1M products (bench:sync, pg_walinspect): a sync that changed 2 % of the products
-- updated 20k rows spread over the 200k pages of catalog_items (the ~1 KB bodies stay inline: rows
-- under 2 KB are never toasted), and the first change of a page after a checkpoint writes the whole
-- page to the WAL (full_page_writes): 130 MB of WAL, 106 MB of it page images, ~6.5 KB per changed
-- product. So a sync no longer updates the base in place: changed and gone products are written to
-- catalog_items_delta (few pages, mostly new ones: 29 MB for the same sync), and the delta is
-- folded into the base in bulk once it has grown (a compaction, which writes each base page once
-- for all the changes on it).
--
-- rr_sync.catalog_items stays the name to read: a view of the delta over the base, one row per
-- product, queryable by product, group and stock id (such predicates reach both tables' indexes).

ALTER TABLE rr_sync.catalog_items RENAME TO catalog_items_base;
ALTER INDEX rr_sync.catalog_items_pkey RENAME TO catalog_items_base_pkey;
ALTER INDEX rr_sync.catalog_items_group_idx RENAME TO catalog_items_base_group_idx;
ALTER INDEX rr_sync.catalog_items_stock_idx RENAME TO catalog_items_base_stock_idx;

-- Every sync streams (product_id, digest, gone) of every product: from this index, by an index-only
-- scan once the base is vacuumed (it is written only in bulk, and the sync that writes it vacuums
-- it), that is ~70 MB read at 1M products instead of the 1.6 GB heap. Its digest makes a
-- compaction's updates non-HOT, which a compaction, rare and touching most pages anyway, can afford.
CREATE INDEX catalog_items_base_stream_idx ON rr_sync.catalog_items_base (product_id) INCLUDE (digest, gone);

CREATE TABLE rr_sync.catalog_items_delta (
  product_id   text COLLATE "C" PRIMARY KEY,
  group_id     text,
  digest       text        NOT NULL,
  available    boolean     NOT NULL,
  gone         boolean     NOT NULL DEFAULT false,
  category_ids text[]      NOT NULL DEFAULT '{}',
  stock_ids    text[]      NOT NULL DEFAULT '{}',
  body         jsonb       NOT NULL,
  source       text        NOT NULL,
  run_id       bigint,
  updated_at   timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);
CREATE INDEX catalog_items_delta_group_idx ON rr_sync.catalog_items_delta (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX catalog_items_delta_stock_idx ON rr_sync.catalog_items_delta USING gin (stock_ids);

CREATE VIEW rr_sync.catalog_items AS
  SELECT d.product_id, d.group_id, d.digest, d.available, d.gone, d.category_ids, d.stock_ids, d.body,
         d.source, d.run_id, d.updated_at
    FROM rr_sync.catalog_items_delta d
  UNION ALL
  SELECT b.product_id, b.group_id, b.digest, b.available, b.gone, b.category_ids, b.stock_ids, b.body,
         b.source, b.run_id, b.updated_at
    FROM rr_sync.catalog_items_base b
   WHERE NOT EXISTS (SELECT 1 FROM rr_sync.catalog_items_delta d WHERE d.product_id = b.product_id);
