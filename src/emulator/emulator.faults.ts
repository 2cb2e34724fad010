import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { clientGone, dropExchange, HttpError, sendJson, type Exchange } from './emulator.http.ts';
import type { FaultSettings } from './emulator.types.ts';

export const DEFAULT_FAULTS: FaultSettings = {
  delayMs: 0,
  jitterMs: 0,
  errorRate: 0,
  forcedStatus: null,
  dropRate: 0,
  retryAfterSeconds: 1,
};

const FaultPatch = z
  .object({
    delayMs: z.number().int().min(0).max(600_000),
    jitterMs: z.number().int().min(0).max(600_000),
    errorRate: z.number().min(0).max(1),
    forcedStatus: z.number().int().min(200).max(599).nullable(),
    dropRate: z.number().min(0).max(1),
    retryAfterSeconds: z.number().int().min(0).max(3600),
    paths: z.string().startsWith('/').optional().or(z.literal('')),
  })
  .partial()
  .strict();

/** Validates a partial fault setting (from code or the admin API) and merges it into `current`. */
export function mergeFaults(current: FaultSettings, patch: unknown): FaultSettings {
  const parsed = FaultPatch.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'faults';
    throw new HttpError(400, {
      error: 'validation',
      field,
      rule: issue?.code ?? 'invalid',
      message: `${field}: ${issue?.message ?? 'invalid'}`,
    });
  }
  const next: FaultSettings = { ...current, ...parsed.data };
  if (next.paths === '') delete next.paths;
  return next;
}

/** The admin API is never faulted: it is how a test turns faults off again. */
export function faultsApply(settings: FaultSettings, path: string): boolean {
  if (path.startsWith('/__emulator')) return false;
  return settings.paths === undefined || path.startsWith(settings.paths);
}

/**
 * Applies the current faults to one exchange. Returns true when the exchange was answered or
 * dropped here (the route must not run: injected failures never change state).
 */
export async function injectFaults(
  settings: FaultSettings,
  ex: Exchange,
  random = Math.random,
): Promise<boolean> {
  if (!faultsApply(settings, ex.path)) return false;
  const delay =
    settings.delayMs + (settings.jitterMs > 0 ? Math.floor(random() * (settings.jitterMs + 1)) : 0);
  if (delay > 0) {
    // Abortable: a client that gives up (or stop()) must not leave a timer holding the process.
    const gone = new AbortController();
    const onClose = () => gone.abort();
    ex.res.once('close', onClose);
    try {
      await sleep(delay, undefined, { signal: gone.signal });
    } catch {
      return true;
    } finally {
      ex.res.off('close', onClose);
    }
  }
  if (clientGone(ex.res)) return true;
  if (settings.dropRate > 0 && random() < settings.dropRate) {
    dropExchange(ex.req, ex.res);
    return true;
  }
  const forced = settings.forcedStatus;
  if (forced !== null || (settings.errorRate > 0 && random() < settings.errorRate)) {
    const status = forced ?? 500;
    const headers: Record<string, string> =
      status === 429 || status === 503 ? { 'retry-after': String(settings.retryAfterSeconds) } : {};
    sendJson(
      ex.res,
      status,
      { error: 'injected_fault', status, message: 'fault injected by the emulator' },
      headers,
    );
    return true;
  }
  return false;
}
