import type { Queryable } from '../db/pool.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../shared/logger.ts';
import type { AcceptBatchResult, AcceptResult, EventError, EventService } from './events.contracts.ts';
import { checkBatch, checkEvent } from './events.input.ts';
import { createSpoolWriter, type SpoolWriter, type SpoolWriterOptions } from './events.spool.ts';

export interface EventServiceDeps {
  state: Queryable;
  config: Config;
  logger: Logger;
  /** This process's sender, woken after each commit (none: another instance or later sends). */
  sender?: { notify(): void };
}

const unavailable = (): EventError => ({
  code: 'events.unavailable',
  message: 'The event could not be stored (PostgreSQL unavailable); nothing was kept. Retry shortly.',
});

/**
 * The events entry point, in-process (library use) and behind the HTTP routes: validate with the
 * client's schemas, then spool through the group-commit writer. Failures are values: a refused
 * input or an unavailable database is an `{ok: false, error}`, never a throw.
 */
export function createEventService(
  deps: EventServiceDeps,
  options: SpoolWriterOptions = {},
): EventService & { readonly spool: SpoolWriter } {
  const logger = deps.logger.child({ component: 'events' });
  const spool = createSpoolWriter(deps.state, logger, {
    ...options,
    onCommit: () => {
      options.onCommit?.();
      deps.sender?.notify();
    },
  });

  return {
    spool,
    async accept(type, input): Promise<AcceptResult> {
      const checked = checkEvent(type, input);
      if (!checked.ok) return checked;
      try {
        const [id] = await spool.write([checked.value]);
        return { ok: true, id: id! };
      } catch {
        return { ok: false, error: unavailable() };
      }
    },
    async acceptBatch(items): Promise<AcceptBatchResult> {
      const checked = checkBatch(items);
      if (!checked.ok) return checked;
      try {
        const ids = await spool.write(checked.value);
        return { ok: true, results: ids.map((id) => ({ id })) };
      } catch {
        return { ok: false, error: unavailable() };
      }
    },
    close: () => spool.close(),
  };
}
