import { migrate } from '../../db/migrate.ts';
import { runFeedJob } from '../../feed/feed.job.ts';
import { summaryLine } from '../../feed/feed.summary.ts';
import type { Command, CommandContext } from '../command.ts';
import { openDatabases } from '../databases.ts';
import { createProgress } from '../progress.ts';

async function run(ctx: CommandContext, validateOnly: boolean): Promise<number> {
  const dbs = await openDatabases(ctx.config, ctx.logger);
  const progress = createProgress(validateOnly ? 'validate' : 'feed');
  try {
    await migrate(dbs.state, ctx.logger);
    const summary = await runFeedJob(
      { catalog: dbs.catalog, state: dbs.state, config: ctx.config, logger: ctx.logger },
      {
        validateOnly,
        dryRun: Boolean(ctx.flags['dry-run']),
        force: Boolean(ctx.flags.force),
        signal: ctx.signal,
        onProgress: progress.update,
      },
    );
    progress.done();
    if (ctx.json) ctx.out(JSON.stringify({ ok: summary.exitCode === 0, ...summary }));
    else ctx.out(summaryLine(validateOnly ? 'validate' : 'feed', summary));
    return summary.exitCode;
  } finally {
    progress.done();
    await dbs.close();
  }
}

export const feedCommand: Command = {
  name: 'feed',
  summary: 'read, validate and write the feed; self-check it; publish it atomically unless the gate refuses',
  usage: 'feed [--dry-run] [--force] [--json]',
  flags: {
    'dry-run': { type: 'boolean', description: 'build and check the feed, publish nothing' },
    force: { type: 'boolean', description: 'publish even when the publish gate refuses' },
  },
  run: (ctx) => run(ctx, false),
};

export const validateCommand: Command = {
  name: 'validate',
  summary: 'validate the catalog and write the report only (no feed)',
  usage: 'validate [--json]',
  flags: {},
  run: (ctx) => run(ctx, true),
};
