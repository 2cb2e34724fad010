import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';

/**
 * Browser sessions of the status page. The cookie carries a random id; PostgreSQL keeps only its
 * sha256, so every instance behind a load balancer knows the session and a copy of the table
 * logs nobody in. Without a state database (`serve`), sessions live in this process.
 */

export const SESSION_COOKIE = 'rr_sync_session';
export const SESSION_TTL_SECONDS = 12 * 3600;

export interface Session {
  who: string;
}

export interface SessionStore {
  /** A new session; returns the cookie value (shown to nobody but the browser). */
  create(): Promise<string>;
  find(cookie: string): Promise<Session | null>;
  remove(cookie: string): Promise<void>;
}

export const hashOf = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/** The name a session has in the run history: not the id, only a short prefix of its hash. */
const whoOf = (idHash: string) => `session ${idHash.slice(0, 8)}`;

const COOKIE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function createSessionStore(state: () => pg.Pool | null, now: () => number = Date.now): SessionStore {
  const memory = new Map<string, { who: string; expiresAt: number }>();
  return {
    async create() {
      const value = randomBytes(32).toString('base64url');
      const idHash = hashOf(value);
      const db = state();
      if (db) {
        await db.query('delete from rr_sync.admin_sessions where expires_at < now()');
        await db.query(
          `insert into rr_sync.admin_sessions (id_hash, who, expires_at)
           values ($1, $2, now() + make_interval(secs => $3))`,
          [idHash, whoOf(idHash), SESSION_TTL_SECONDS],
        );
      } else {
        for (const [k, v] of memory) if (v.expiresAt < now()) memory.delete(k);
        memory.set(idHash, { who: whoOf(idHash), expiresAt: now() + SESSION_TTL_SECONDS * 1000 });
      }
      return value;
    },
    async find(cookie) {
      if (!COOKIE_SHAPE.test(cookie)) return null;
      const idHash = hashOf(cookie);
      const db = state();
      if (db) {
        const { rows } = await db.query<{ who: string }>(
          'select who from rr_sync.admin_sessions where id_hash = $1 and expires_at > now()',
          [idHash],
        );
        return rows[0] ? { who: rows[0].who } : null;
      }
      const s = memory.get(idHash);
      return s && s.expiresAt > now() ? { who: s.who } : null;
    },
    async remove(cookie) {
      const idHash = hashOf(cookie);
      const db = state();
      if (db) await db.query('delete from rr_sync.admin_sessions where id_hash = $1', [idHash]);
      memory.delete(idHash);
    },
  };
}
