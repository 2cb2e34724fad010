/**
 * One error type for the whole service. `code` is stable (documented in the README), `exitCode`
 * is what the CLI exits with (design §5), `status` what an HTTP route answers.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  badConfig: 2,
  gateRefused: 3,
  unreachable: 4,
} as const;

export const ERROR_CODES = [
  'config.invalid',
  'usage.invalid',
  'db.unreachable',
  'db.embedded_failed',
  'db.newer_than_code',
  'db.migration_changed',
  'catalog.relation_missing',
  'catalog.column_missing',
  'feed.gate_refused',
  'feed.other_catalog',
  'feed.self_check_failed',
  'feed.write_failed',
  'demo.schema_not_demo',
  'upstream.unreachable',
  'job.already_running',
  'interrupted',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const EXIT_BY_CODE: Record<ErrorCode, number> = {
  'config.invalid': EXIT.badConfig,
  'usage.invalid': EXIT.badConfig,
  'db.unreachable': EXIT.unreachable,
  'db.embedded_failed': EXIT.unreachable,
  'db.newer_than_code': EXIT.badConfig,
  'db.migration_changed': EXIT.badConfig,
  'catalog.relation_missing': EXIT.badConfig,
  'catalog.column_missing': EXIT.badConfig,
  'feed.gate_refused': EXIT.gateRefused,
  'feed.other_catalog': EXIT.gateRefused,
  'feed.self_check_failed': EXIT.failure,
  'feed.write_failed': EXIT.failure,
  'demo.schema_not_demo': EXIT.badConfig,
  'upstream.unreachable': EXIT.unreachable,
  'job.already_running': EXIT.failure,
  interrupted: EXIT.failure,
  internal: EXIT.failure,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.exitCode = EXIT_BY_CODE[code];
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * Errors that a PostgreSQL connection reported as its own death (socket reset, TLS failure): the
 * pools mark them as they happen, because a bare ECONNRESET could as well come from an HTTP peer.
 */
const lostDatabaseConnections = new WeakSet<object>();

export function markDatabaseConnectionError(err: unknown): void {
  if (typeof err === 'object' && err !== null) lostDatabaseConnections.add(err);
}

/**
 * SQLSTATEs that mean "the server cannot serve this session": class 08 (connection exception),
 * 57P01-57P05 (terminated by an administrator, crash, starting up, idle timeout), too many
 * connections, and the log-in failures that can only be fixed on the database side.
 */
const UNREACHABLE_SQLSTATE = /^(08...|57P0[1-5]|53300|28000|28P01|3D000)$/;
/** What node-postgres itself says when a connection is gone or never came up. */
const PG_CONNECTION_MESSAGE =
  /Connection terminated|not queryable|timeout expired|timeout exceeded when trying to connect|does not support SSL connections/i;

/** True when `err` says the database was lost or could not be reached (exit 4), not that a query was wrong. */
export function isDatabaseUnreachable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if (lostDatabaseConnections.has(err)) return true;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE_SQLSTATE.test(e.code)) return true;
  return typeof e.message === 'string' && PG_CONNECTION_MESSAGE.test(e.message);
}

/**
 * Normalise anything thrown into an Error (graphile's coerceError habit). A lost or refused
 * database connection becomes `db.unreachable` (exit 4) wherever it surfaces.
 */
export function coerceError(err: unknown): Error {
  if (err instanceof AppError) return err;
  if (isDatabaseUnreachable(err)) {
    return new AppError(
      'db.unreachable',
      `PostgreSQL could not be reached or dropped the connection: ${(err as Error).message ?? String(err)}`,
      { cause: err },
    );
  }
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
