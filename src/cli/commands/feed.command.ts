import { migrate } from '../../db/migrate.ts';
import { runFeedJob } from '../../feed/feed.job.ts';
import { dryRunLine, summaryLine } from '../../feed/feed.summary.ts';
import { issueLines } from '../../validation/validation.summary.ts';
import type { Command, CommandContext } from '../command.ts';
import { openDatabases } from '../databases.ts';
import { createProgress } from '../progress.ts';

async function run(ctx: CommandContext, validateOnly: boolean): Promise<number> {
  const dryRun = !validateOnly && Boolean(ctx.flags['dry-run']);
  const dbs = await openDatabases(ctx.config, ctx.logger);
  const progress = createProgress(validateOnly ? 'validate' : 'feed');
  try {
    await migrate(dbs.state, ctx.logger);
    const summary = await runFeedJob(
      { catalog: dbs.catalog, state: dbs.state, config: ctx.config, logger: ctx.logger },
      {
        validateOnly,
        dryRun,
        force: Boolean(ctx.flags.force),
        signal: ctx.signal,
        onProgress: progress.update,
      },
    );
    progress.done();
    if (ctx.json) ctx.out(JSON.stringify({ ok: summary.exitCode === 0, dryRun, ...summary }));
    else {
      ctx.out(dryRun ? dryRunLine(summary) : summaryLine(validateOnly ? 'validate' : 'feed', summary));
      // validate and a dry run are previews: show what would be left out, not only how much.
      if (validateOnly || dryRun)
        for (const line of issueLines(summary.byCode, summary.firstIds)) ctx.out(line);
      ctx.out(
        `report: ${summary.reportPath}${dryRun ? " (the dry run's; the published feed's report is unchanged)" : ''}`,
      );
    }
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
    'dry-run': {
      type: 'boolean',
      description:
        'build and check the feed, say what a real run would do, publish nothing (exit 3 if the gate would refuse)',
    },
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
