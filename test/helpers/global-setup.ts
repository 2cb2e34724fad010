import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { silentLogger } from '../../src/shared/logger.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedServer | undefined;

/**
 * Tests talk to a real PostgreSQL: the one named by TEST_DATABASE_URL (CI passes the machine's
 * server), or else an embedded one started here, as a fresh user's machine would. Its data
 * directory is per run (two `npm test` in one checkout do not share it) and removed at the end;
 * its port is a free one.
 */
export default async function setup(project: TestProject) {
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dir: `.data/test-pg-${process.pid}`,
      systemDir: loadConfig({ EMBEDDED_PG_SYSTEM_DIR: process.env.EMBEDDED_PG_SYSTEM_DIR }).embeddedPg
        .systemDir,
      logger: silentLogger,
      persistent: false,
      database: 'postgres',
    });
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
  return async () => {
    await embedded?.stop();
  };
}
