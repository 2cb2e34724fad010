-- Fallback recommendations ask for available products of some categories
-- (findAvailableProducts: category_ids && $1). Without this index that is a scan of the whole
-- catalog_items heap (1M rows) inside the 500 ms recommendation deadline.
CREATE INDEX IF NOT EXISTS catalog_items_category_idx ON rr_sync.catalog_items USING gin (category_ids);
