import type { TestProject } from 'vitest/node';
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
 * server), or else an embedded one started here, as a fresh user's machine would.
 */
export default async function setup(project: TestProject) {
  let url = process.env.TEST_DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dir: '.data/test-pg',
      port: 54330 + Math.floor(Math.random() * 500),
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
