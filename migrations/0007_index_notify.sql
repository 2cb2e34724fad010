-- The storefront keeps what it read of the published-catalog index in memory (items, category
-- trees, fallback candidates: src/catalog-index/catalog-index.cache.ts) and must drop it the
-- moment the index changes. Every statement that writes the index tables, whoever runs it (a
-- sync, a compaction, an operator's psql), sends one notification on rr_sync_catalog; PostgreSQL
-- delivers it when the transaction commits (and never for one rolled back, e.g. a dry run), and
-- folds identical ones of a transaction into one. Statement-level: one per statement, not per row.
CREATE OR REPLACE FUNCTION rr_sync.notify_catalog_changed() RETURNS trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify('rr_sync_catalog', TG_TABLE_NAME);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS catalog_items_base_notify ON rr_sync.catalog_items_base;
CREATE TRIGGER catalog_items_base_notify
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rr_sync.catalog_items_base
  FOR EACH STATEMENT EXECUTE FUNCTION rr_sync.notify_catalog_changed();

DROP TRIGGER IF EXISTS catalog_items_delta_notify ON rr_sync.catalog_items_delta;
CREATE TRIGGER catalog_items_delta_notify
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rr_sync.catalog_items_delta
  FOR EACH STATEMENT EXECUTE FUNCTION rr_sync.notify_catalog_changed();

DROP TRIGGER IF EXISTS category_paths_notify ON rr_sync.category_paths;
CREATE TRIGGER category_paths_notify
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rr_sync.category_paths
  FOR EACH STATEMENT EXECUTE FUNCTION rr_sync.notify_catalog_changed();
