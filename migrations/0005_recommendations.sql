-- Fallback recommendations ask for available products of some categories
-- (findAvailableProducts: category_ids && $1). Without this index that is a scan of the whole
-- catalog_items heap (1M rows) inside the 500 ms recommendation deadline. A small pending list:
-- every read scans it whole, and at the default 4 MB a category query took 12-21 ms after a
-- sync instead of 0.4 ms (measured at 1M products); 512 kB still batches the sync's inserts.
-- catalog_items is the view of a delta over a base (0003): both tables get the index.
CREATE INDEX IF NOT EXISTS catalog_items_base_category_idx ON rr_sync.catalog_items_base
  USING gin (category_ids) WITH (gin_pending_list_limit = 512);
CREATE INDEX IF NOT EXISTS catalog_items_delta_category_idx ON rr_sync.catalog_items_delta
  USING gin (category_ids) WITH (gin_pending_list_limit = 512);

-- Whether Retail Rocket was given a stock (a recommendation request names one). A plain EXISTS on
-- stock_ids is planned as a sequential scan that hopes to meet the stock early: for a stock no
-- product has, that reads the whole table (measured: 3.7 s at 1M products). With sequential
-- scans off for this one statement the GIN index answers: an unknown or rare stock at once, a
-- common one only after reading its long posting list (230-315 ms at 500k products), which is
-- why isKnownStock looks at the first rows of the table first (catalog-index.repository.ts).
CREATE OR REPLACE FUNCTION rr_sync.is_known_stock(stock text) RETURNS boolean
  LANGUAGE sql STABLE
  SET enable_seqscan = off
AS $$
  SELECT EXISTS (SELECT 1 FROM rr_sync.catalog_items WHERE stock_ids @> ARRAY[stock] AND NOT gone)
$$;
