import type pg from 'pg';
import { coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { insertSample, pruneSamples } from './ops.repository.ts';
import type { OpsSnapshot } from './ops.snapshot.ts';

/** Per-minute counts from cumulative totals: the difference since the previous sample. */
function perSample() {
  let last: Record<string, number> | null = null;
  return (totals: Record<string, number> | null): Record<string, number> | null => {
    if (!totals) return null;
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(totals)) out[k] = Math.max(0, v - (last?.[k] ?? v));
    last = { ...totals };
    return out;
  };
}

const sum = (r: Record<string, number> | null, keys?: string[]) =>
  r === null ? null : Object.entries(r).reduce((n, [k, v]) => (!keys || keys.includes(k) ? n + v : n), 0);

/**
 * The status page's charts read rr_sync.ops_samples: one row per minute, pruned after 7 days.
 * Failures are logged (at most once per 10 minutes) and never stop the service.
 */
export function createSampler(deps: {
  state: () => pg.Pool | null;
  snapshot: () => Promise<OpsSnapshot>;
  logger: Logger;
  instance: string;
  everyMs?: number;
}) {
  const everyMs = deps.everyMs ?? 60_000;
  const pushes = perSample();
  const events = perSample();
  const recs = perSample();
  let timer: NodeJS.Timeout | undefined;
  let lastWarn = 0;
  let running: Promise<void> | null = null;

  async function sampleOnce(): Promise<void> {
    const db = deps.state();
    if (!db) return;
    const snap = await deps.snapshot();
    const pushed = pushes(snap.pushes);
    await insertSample(
      db,
      {
        offers: snap.feed?.offers ?? null,
        outboxPending: snap.outbox?.pending ?? null,
        outboxOldestSeconds: snap.outbox?.oldestPendingSeconds ?? null,
        deadLetters: snap.deadLetters,
        pushes: pushed ? (pushed.pushed ?? 0) : null,
        events: sum(events(snap.events ? { ...snap.events.totals } : null), ['accepted']),
        recommendations: recs(snap.recommendations ? { ...snap.recommendations.bySource } : null),
      },
      deps.instance,
    );
    await pruneSamples(db);
  }

  const tick = () => {
    running ??= sampleOnce()
      .catch((err: unknown) => {
        if (Date.now() - lastWarn > 600_000) {
          lastWarn = Date.now();
          deps.logger.warn({ err: coerceError(err).message }, 'could not record an ops sample');
        }
      })
      .finally(() => (running = null));
  };

  return {
    sampleOnce,
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, everyMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
