import type pg from 'pg';
import type { Config } from '../config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../db/embedded.ts';
import { connect, describeDatabase, KEPT_CONNECTIONS } from '../db/pool.ts';
import type { Logger } from '../shared/logger.ts';

export interface Databases {
  /** The store database (read-only use: the catalog schema). */
  catalog: pg.Pool;
  /** Where rr_sync state lives (the same database unless STATE_DATABASE_URL is set). */
  state: pg.Pool;
  catalogUrl: string;
  embedded: boolean;
  close(): Promise<void>;
}

/**
 * Connect to the configured databases; with no DATABASE_URL, start the embedded PostgreSQL
 * (the fresh-machine default of `npm start`).
 */
export async function openDatabases(config: Config, logger: Logger): Promise<Databases> {
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dir: config.embeddedPg.dir,
      port: config.embeddedPg.port,
      systemDir: config.embeddedPg.systemDir,
      logger,
    });
    url = embedded.url;
    logger.info({ database: describeDatabase(url) }, 'no DATABASE_URL set: using the embedded PostgreSQL');
  }
  try {
    // A sync run holds up to seven at once: lock, two snapshot readers, the state's two streams (base
    // and delta) and stage, history.
    // The state pool keeps some open however long they idle: a serving process's warm backends
    // for the index reads (startStorefront). A separate store database is not held open for them.
    const separate = Boolean(config.stateDatabaseUrl);
    const catalog = await connect(url, { max: 10, min: separate ? 0 : KEPT_CONNECTIONS });
    const state = config.stateDatabaseUrl
      ? await connect(config.stateDatabaseUrl, { max: 8, min: KEPT_CONNECTIONS })
      : catalog;
    return {
      catalog,
      state,
      catalogUrl: url,
      embedded: Boolean(embedded),
      async close() {
        await catalog.end();
        if (state !== catalog) await state.end();
        await embedded?.stop();
      },
    };
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
}
