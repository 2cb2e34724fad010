import { migrate } from '../../db/migrate.ts';
import { EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'create or upgrade the rr_sync state schema (idempotent, safe to run concurrently)',
  flags: {},
  async run(ctx) {
    const dbs = await openDatabases(ctx.config, ctx.logger);
    try {
      const result = await migrate(dbs.state, ctx.logger);
      if (ctx.json) ctx.out(JSON.stringify({ ok: true, ...result }));
      else
        ctx.out(
          result.applied.length ? `applied: ${result.applied.join(', ')}` : 'rr_sync schema is up to date',
        );
      return EXIT.ok;
    } finally {
      await dbs.close();
    }
  },
};
