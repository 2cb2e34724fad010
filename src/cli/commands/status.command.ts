import { migrate } from '../../db/migrate.ts';
import { formatStatus, readStatus } from '../../scheduler/scheduler.status.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';

const DEFAULT_RUNS = 10;
const MAX_RUNS = 1000;

function runsFlag(value: unknown): number {
  if (value === undefined) return DEFAULT_RUNS;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= MAX_RUNS)) {
    throw new AppError(
      'usage.invalid',
      `--runs: must be a whole number from 1 to ${MAX_RUNS} (got ${JSON.stringify(value)})`,
    );
  }
  return n;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'print the last runs, the outbox depth, open dead letters and the published feed version',
  usage: 'status [--runs N] [--json]',
  flags: {
    runs: { type: 'string', description: `how many of the latest runs to list (default ${DEFAULT_RUNS})` },
  },
  async run(ctx) {
    const runs = runsFlag(ctx.flags.runs);
    const dbs = await openDatabases(ctx.config, ctx.logger);
    try {
      await migrate(dbs.state, ctx.logger);
      const status = await readStatus(dbs.state, runs);
      ctx.out(ctx.json ? JSON.stringify(status) : formatStatus(status));
      return EXIT.ok;
    } finally {
      await dbs.close();
    }
  },
};
