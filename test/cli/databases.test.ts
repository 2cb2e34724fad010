import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabases } from '../../src/cli/databases.ts';
import { loadConfig } from '../../src/config.ts';
import { KEPT_CONNECTIONS } from '../../src/db/pool.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let store: TestDatabase;
let state: TestDatabase;
beforeAll(async () => {
  [store, state] = await Promise.all([createTestDatabase({ migrate: false }), createTestDatabase()]);
});
afterAll(async () => {
  await Promise.all([store.drop(), state.drop()]);
});

describe('the pools of a command', () => {
  it('keep the warm connections open in the state database, which is the store database by default', async () => {
    const dbs = await openDatabases(loadConfig({ DATABASE_URL: store.url }), silentLogger);
    try {
      expect(dbs.state).toBe(dbs.catalog);
      expect(dbs.state.options.min).toBe(KEPT_CONNECTIONS);
    } finally {
      await dbs.close();
    }
  });

  it('hold no idle connection open to a store database apart from the state database', async () => {
    const dbs = await openDatabases(
      loadConfig({ DATABASE_URL: store.url, STATE_DATABASE_URL: state.url }),
      silentLogger,
    );
    try {
      expect(dbs.state.options.min).toBe(KEPT_CONNECTIONS);
      expect(dbs.catalog.options.min).toBe(0);
    } finally {
      await dbs.close();
    }
  });
});
