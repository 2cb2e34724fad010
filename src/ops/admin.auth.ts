import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';
import { sameSecret } from '../server/api.auth.ts';
import { cookiesOf } from './ops.http.ts';
import { SESSION_COOKIE, type SessionStore } from './admin.sessions.ts';

/**
 * Who may see the status page and act (issue 9): with ADMIN_TOKEN, a script sending it as a Bearer
 * token or a browser with a session from the login form; without it, loopback clients only.
 */

export interface Principal {
  /** What the run history records: 'bearer', 'session 1a2b3c4d', 'loopback'. */
  who: string;
  via: 'bearer' | 'session' | 'loopback';
  /** The token a form of this principal must send back (null for Bearer: no cookie, no CSRF). */
  csrf: string | null;
  /** The session cookie value, for logging out. */
  session?: string;
}

export type AuthVerdict =
  | { ok: true; principal: Principal }
  /** 401: a token is configured and was not given (or was wrong, or the session expired). */
  | { ok: false; status: 401; code: 'auth.required'; message: string }
  /** 403: no token configured and the client is not on this machine. */
  | { ok: false; status: 403; code: 'auth.loopback_only'; message: string };

const csrfOf = (secret: string) => createHash('sha256').update(`csrf\0${secret}`, 'utf8').digest('base64url');

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * A client on this machine, talking to us directly. A request a proxy forwarded (it says so with
 * X-Forwarded-For or Forwarded) comes from wherever the proxy's client is, so it is not loopback
 * even when the proxy runs here.
 */
export function isLoopbackClient(req: http.IncomingMessage): boolean {
  if (req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined) return false;
  return LOOPBACK.test(req.socket.remoteAddress ?? '');
}

export interface AdminAuth {
  /** Whether ADMIN_TOKEN is set (the page says which mode it is in). */
  readonly tokenConfigured: boolean;
  check(req: http.IncomingMessage): Promise<AuthVerdict>;
  /** The login form's check, in constant time. */
  tokenMatches(given: string): boolean;
  /** Same answer whoever asks, so a form token can be compared in constant time. */
  csrfMatches(principal: Principal, given: string | null | undefined): boolean;
}

export function createAdminAuth(adminToken: string | undefined, sessions: SessionStore): AdminAuth {
  // Loopback mode has no session: its forms carry a token derived from a secret of this process.
  const loopbackCsrf = csrfOf(randomBytes(32).toString('base64url'));
  return {
    tokenConfigured: adminToken !== undefined,
    async check(req) {
      if (adminToken === undefined) {
        if (isLoopbackClient(req))
          return { ok: true, principal: { who: 'loopback', via: 'loopback', csrf: loopbackCsrf } };
        return {
          ok: false,
          status: 403,
          code: 'auth.loopback_only',
          message:
            'ADMIN_TOKEN is not set: the status page and the admin routes answer clients on this machine only.',
        };
      }
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
        if (m && sameSecret(m[1]!, adminToken))
          return { ok: true, principal: { who: 'bearer', via: 'bearer', csrf: null } };
      } else {
        const cookie = cookiesOf(req).get(SESSION_COOKIE);
        const session = cookie ? await sessions.find(cookie) : null;
        if (cookie && session)
          return {
            ok: true,
            principal: { who: session.who, via: 'session', csrf: csrfOf(cookie), session: cookie },
          };
      }
      return {
        ok: false,
        status: 401,
        code: 'auth.required',
        message:
          'This route needs Authorization: Bearer <ADMIN_TOKEN>, or a session from the login form at /login.',
      };
    },
    tokenMatches(given) {
      return adminToken !== undefined && sameSecret(given, adminToken);
    },
    csrfMatches(principal, given) {
      if (principal.csrf === null) return true;
      return typeof given === 'string' && sameSecret(given, principal.csrf);
    },
  };
}
