import { migrate } from '../../db/migrate.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import {
  countOpenDeadLetters,
  listOpenDeadLetters,
  requeueDeadLetters,
  type DeadLetter,
} from '../../sync/dead-letters.repository.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';

const DEFAULT_LIMIT = 100;

function limitFlag(value: unknown): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const text = String(value);
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 100_000)) {
    throw new AppError('usage.invalid', `--limit must be a whole number from 1 to 100000, got '${text}'`, {
      details: { flag: 'limit', value: text },
    });
  }
  return n;
}

const line = (d: DeadLetter) =>
  `${d.key}\t${d.status ?? '-'}\t${d.errorKind}\t${d.attempts} attempts\t${d.failedAt.toISOString()}\t${d.reason}`;

export const deadLettersCommand: Command = {
  name: 'dead-letters',
  summary: 'list the pushes that failed for good; --requeue puts them back into the outbox',
  usage: 'dead-letters [--requeue] [--limit N] [--json]',
  flags: {
    requeue: { type: 'boolean', description: 'move every open dead letter back to the outbox' },
    limit: { type: 'string', description: `list at most N (default ${DEFAULT_LIMIT})` },
  },
  async run(ctx) {
    const limit = limitFlag(ctx.flags.limit);
    const dbs = await openDatabases(ctx.config, ctx.logger);
    try {
      await migrate(dbs.state, ctx.logger);
      const open = await countOpenDeadLetters(dbs.state);
      const letters = await listOpenDeadLetters(dbs.state, limit);
      const requeue = ctx.flags.requeue ? await requeueDeadLetters(dbs.state) : undefined;
      if (ctx.json) {
        ctx.out(JSON.stringify({ ok: true, open, deadLetters: letters, ...(requeue ?? {}) }));
        return EXIT.ok;
      }
      for (const d of letters) ctx.out(line(d));
      const more = open > letters.length ? ` (${open - letters.length} more not listed)` : '';
      ctx.out(`${open} open dead letters${more}`);
      if (requeue) {
        ctx.out(
          `requeued ${requeue.requeued} into the outbox (run 'rr-sync push')` +
            (requeue.superseded > 0
              ? `; ${requeue.superseded} skipped: a newer change of the item exists`
              : ''),
        );
      }
      return EXIT.ok;
    } finally {
      await dbs.close();
    }
  },
};
