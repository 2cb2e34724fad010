import { createHash, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { HttpError } from './server.respond.ts';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * API_TOKEN guard of the storefront API (`/v1/*`): with a token configured, a request needs
 * `Authorization: Bearer <token>`; otherwise 401 `auth.required`. The header is never logged.
 */
export function requireBearer(req: http.IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (m && sameSecret(m[1]!, token)) return;
  throw new HttpError(401, 'auth.required', 'This route needs Authorization: Bearer <API_TOKEN>.', {
    'www-authenticate': 'Bearer realm="rr-catalog-sync storefront API"',
  });
}
