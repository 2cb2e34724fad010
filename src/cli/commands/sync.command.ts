import { migrate } from '../../db/migrate.ts';
import { createRetailRocketClient } from '../../rr/index.ts';
import { AppError, EXIT } from '../../shared/errors.ts';
import { outboxStats } from '../../sync/outbox.repository.ts';
import { createPusher } from '../../sync/pusher.ts';
import type { PushReport } from '../../sync/sync.contracts.ts';
import { runSyncJob } from '../../sync/sync.job.ts';
import { syncJson, syncLine } from '../../sync/sync.summary.ts';
import type { Command, CommandContext } from '../command.ts';
import { openDatabases, type Databases } from '../databases.ts';
import { createProgress } from '../progress.ts';
import { DEFAULT_WAIT_SECONDS, waitSeconds } from './push.command.ts';

/**
 * Drain the outbox after the pass, with progress and an honest ETA on a terminal (a full resync
 * of a large catalog takes hours at RR_PUSH_RATE; interrupting keeps the rest in the outbox).
 */
async function pushPhase(
  ctx: CommandContext,
  dbs: Databases,
  rr: ReturnType<typeof createRetailRocketClient>,
): Promise<PushReport> {
  const pusher = createPusher({ state: dbs.state, rr, config: ctx.config, logger: ctx.logger });
  const stream = process.stderr;
  let timer: NodeJS.Timeout | undefined;
  if (stream.isTTY) {
    const started = performance.now();
    const first = (await outboxStats(dbs.state)).pending;
    timer = setInterval(() => {
      void outboxStats(dbs.state).then(
        ({ pending }) => {
          const secs = (performance.now() - started) / 1000;
          const rate = (first - pending) / Math.max(secs, 0.001);
          const eta = rate > 0 ? ` ETA ${Math.ceil(pending / rate)} s` : '';
          stream.write(`\rpushing: ${pending.toLocaleString('en')} pending, ${Math.round(rate)}/s${eta}   `);
        },
        () => undefined,
      );
    }, 1000);
  }
  try {
    return await pusher.drain({ signal: ctx.signal, maxWaitMs: waitSeconds(ctx.flags.wait) * 1000 });
  } finally {
    if (timer) {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    }
  }
}

async function run(ctx: CommandContext, full: boolean): Promise<number> {
  const kind = full ? 'resync' : 'sync';
  if (full && !ctx.flags.full) {
    throw new AppError(
      'usage.invalid',
      'rr-sync resync needs --full (a full resync pushes every product again).',
    );
  }
  const dryRun = Boolean(ctx.flags['dry-run']);
  const noPush = Boolean(ctx.flags['no-push']) || dryRun;
  // Before any database work: pushing needs RR_PARTNER_ID / RR_API_KEY (config.invalid, exit 2).
  const rr = noPush ? null : createRetailRocketClient(ctx.config.rr, { logger: ctx.logger });
  const dbs = await openDatabases(ctx.config, ctx.logger).catch(async (err: unknown) => {
    await rr?.close();
    throw err;
  });
  const progress = createProgress(kind);
  try {
    await migrate(dbs.state, ctx.logger);
    const summary = await runSyncJob(
      { catalog: dbs.catalog, state: dbs.state, config: ctx.config, logger: ctx.logger },
      {
        full,
        dryRun,
        force: Boolean(ctx.flags.force),
        signal: ctx.signal,
        onProgress: progress.update,
      },
    );
    progress.done();
    let push: PushReport | null = null;
    if (summary.exitCode === EXIT.ok && rr) {
      push = await pushPhase(ctx, dbs, rr);
      // The run's history row gets what its push phase did.
      if (summary.runId !== null) {
        await dbs.state
          .query(
            "update rr_sync.runs set summary = coalesce(summary, '{}'::jsonb) || $2::jsonb where id = $1",
            [summary.runId, JSON.stringify({ push })],
          )
          .catch(() => undefined);
      }
    }
    const pending = push ? push.pending : (await outboxStats(dbs.state)).pending;
    const exitCode =
      summary.exitCode !== EXIT.ok ? summary.exitCode : push?.unreachable ? EXIT.unreachable : EXIT.ok;
    if (ctx.json)
      ctx.out(JSON.stringify({ ...syncJson(summary, push, pending), ok: exitCode === EXIT.ok, exitCode }));
    else ctx.out(syncLine(kind, summary, push, pending));
    if (push?.unreachable && !ctx.json) {
      process.stderr.write(
        `rr-sync ${kind}: Retail Rocket could not be reached; ${pending} items stay in the outbox for the next push\n`,
      );
    }
    return exitCode;
  } finally {
    progress.done();
    await dbs.close();
    await rr?.close();
  }
}

const common = {
  'dry-run': {
    type: 'boolean' as const,
    description: 'change nothing (no feed, state or outbox): print the counts, write the diff report',
  },
  force: { type: 'boolean' as const, description: 'override the publish gate and the push gate' },
  wait: {
    type: 'string' as const,
    description: `wait up to this long for items due later, e.g. retries or a killed run's leases (default ${DEFAULT_WAIT_SECONDS})`,
  },
};

export const syncCommand: Command = {
  name: 'sync',
  summary: 'one pass: publish the feed, enqueue what changed for the Product API, push it',
  usage: 'sync [--dry-run] [--force] [--no-push] [--wait <seconds>] [--json]',
  flags: {
    ...common,
    'no-push': { type: 'boolean', description: 'enqueue only; `rr-sync push` or `rr-sync run` pushes later' },
  },
  run: (ctx) => run(ctx, false),
};

export const resyncCommand: Command = {
  name: 'resync',
  summary: 'republish the feed and push every product again (resumable: a re-run continues)',
  usage: 'resync --full [--dry-run] [--force] [--no-push] [--wait <seconds>] [--json]',
  flags: {
    full: { type: 'boolean', description: 'required: enqueue every valid item, whatever was pushed before' },
    ...common,
    'no-push': { type: 'boolean', description: 'enqueue only; `rr-sync push` or `rr-sync run` pushes later' },
  },
  run: (ctx) => run(ctx, true),
};
