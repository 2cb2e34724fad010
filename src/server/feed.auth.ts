import type http from 'node:http';
import { sameSecret } from './api.auth.ts';

/** The password of a `Basic` Authorization header (any user name), or undefined. */
function basicPassword(header: string | undefined): string | undefined {
  const m = header && /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}

/** The feed token may come as `?token=` or as the basic-auth password. */
export function hasFeedToken(req: http.IncomingMessage, query: URLSearchParams, token: string): boolean {
  const fromQuery = query.get('token');
  const fromBasic = basicPassword(req.headers.authorization);
  const okQuery = fromQuery !== null && sameSecret(fromQuery, token);
  const okBasic = fromBasic !== undefined && sameSecret(fromBasic, token);
  return okQuery || okBasic;
}

export const FEED_AUTH_CHALLENGE = 'Basic realm="rr-catalog-sync feed"';
