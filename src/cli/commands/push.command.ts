import { migrate } from '../../db/migrate.ts';
import { createRetailRocketClient } from '../../rr/index.ts';
import { finishRun, insertRun } from '../../runs/runs.history.ts';
import { AppError, coerceError, EXIT } from '../../shared/errors.ts';
import { createPusher } from '../../sync/pusher.ts';
import type { PushReport } from '../../sync/sync.contracts.ts';
import type { Command } from '../command.ts';
import { openDatabases } from '../databases.ts';

export const DEFAULT_WAIT_SECONDS = 5;
const MAX_WAIT_SECONDS = 3600;

export function waitSeconds(value: unknown): number {
  if (value === undefined) return DEFAULT_WAIT_SECONDS;
  const text = String(value);
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= MAX_WAIT_SECONDS)) {
    throw new AppError(
      'usage.invalid',
      `--wait must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}, got '${text}'`,
      { details: { flag: 'wait', value: text } },
    );
  }
  return n;
}

export function pushSummaryLine(r: PushReport): string {
  const state = r.unreachable ? 'Retail Rocket unreachable' : r.pending > 0 ? 'pending due later' : 'drained';
  return `push ${state}: ${r.pushed} pushed, ${r.deadLetters} dead letters, ${r.pending} pending, ${r.seconds.toFixed(1)} s`;
}

export const pushCommand: Command = {
  name: 'push',
  summary: 'push the outbox to the Retail Rocket Product API until nothing is due (exit 4 when unreachable)',
  usage: 'push [--wait <seconds>] [--json]',
  flags: {
    wait: {
      type: 'string',
      description: `wait up to this long for items due later, e.g. retries (default ${DEFAULT_WAIT_SECONDS})`,
    },
  },
  async run(ctx) {
    const maxWaitMs = waitSeconds(ctx.flags.wait) * 1000;
    // Before any database work: missing RR_PARTNER_ID / RR_API_KEY is config.invalid (exit 2).
    const rr = createRetailRocketClient(ctx.config.rr, { logger: ctx.logger });
    try {
      const dbs = await openDatabases(ctx.config, ctx.logger);
      try {
        await migrate(dbs.state, ctx.logger);
        const pusher = createPusher({ state: dbs.state, rr, config: ctx.config, logger: ctx.logger });
        // Every run is in the history, pushes too (status reads it).
        const runId = await insertRun(dbs.state, 'push', 'manual');
        let report: PushReport;
        try {
          report = await pusher.drain({ maxWaitMs, signal: ctx.signal });
        } catch (err) {
          const e = coerceError(err);
          await finishRun(dbs.state, runId, {
            status: 'failed',
            exitCode: e instanceof AppError ? e.exitCode : EXIT.failure,
            summary: null,
            report: null,
            error: e.message,
          }).catch(() => undefined);
          throw err;
        }
        const error = report.unreachable
          ? new AppError(
              'upstream.unreachable',
              `Retail Rocket could not be reached (no answer to any call); ${report.pending} items stay in the outbox for the next push`,
            )
          : ctx.signal.aborted
            ? new AppError('interrupted', `push interrupted; ${report.pending} items stay in the outbox`)
            : undefined;
        await finishRun(dbs.state, runId, {
          status: error ? 'failed' : 'pushed',
          exitCode: error ? error.exitCode : EXIT.ok,
          summary: report,
          report: null,
          error: error?.message,
        });
        if (ctx.json) {
          ctx.out(JSON.stringify({ ok: !error, ...report, ...(error ? { error: error.toJSON() } : {}) }));
        } else {
          ctx.out(pushSummaryLine(report));
        }
        if (error) {
          process.stderr.write(`rr-sync push: ${error.message}\n`);
          return error.exitCode;
        }
        return EXIT.ok;
      } finally {
        await dbs.close();
      }
    } finally {
      await rr.close();
    }
  },
};
