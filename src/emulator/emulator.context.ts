import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../shared/logger.ts';
import { HttpError, queryParam, type Exchange } from './emulator.http.ts';
import type { RateLimiter } from './emulator.limits.ts';
import type { EmulatorState, PartnerState } from './emulator.state.ts';
import type { BehaviourSettings, FaultSettings } from './emulator.types.ts';

/** What every route needs: the state, the switches, and the shared limiter. */
export interface AppContext {
  state: EmulatorState;
  strict: boolean;
  behaviour: BehaviourSettings;
  limiter: RateLimiter;
  logger: Logger;
  faults: FaultSettings;
  /** The feed URL pulled on a schedule (for partners[0]). */
  feedUrl: string | undefined;
  /** The partner a request without partnerId means in the admin API (partners[0]). */
  defaultPartnerId: string;
  /** Bearer token the admin routes need, when set. */
  adminToken: string | undefined;
  /** Back to the start: empty state, rate windows, the faults given at start. */
  reset: () => void;
}

const unauthorized = (message: string) => new HttpError(401, { error: 'unauthorized', message });

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `partnerId` + `apiKey` (or `apikey`) from the query; wrong, unknown or missing → 401 (§1.6). */
export function authenticate(ctx: AppContext, ex: Exchange, partnerIdFromPath?: string): PartnerState {
  const partnerId = partnerIdFromPath ?? queryParam(ex.url, 'partnerId');
  if (!partnerId) throw unauthorized('partnerId is required');
  const apiKey = queryParam(ex.url, 'apiKey');
  if (!apiKey) throw unauthorized('apiKey is required');
  const expected = ctx.state.apiKeys.get(partnerId);
  const partner = ctx.state.partner(partnerId);
  // The key is never echoed back: the message names only what is wrong.
  if (expected === undefined || !partner || !sameSecret(apiKey, expected)) {
    throw unauthorized('the partnerId/apiKey pair is not valid');
  }
  return partner;
}

export const methodNotAllowed = (allow: string) =>
  new HttpError(405, { error: 'method_not_allowed', message: `use ${allow}` }, { allow });
