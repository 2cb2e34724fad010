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

/** Normalise anything thrown into an Error (graphile's coerceError habit). */
export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
