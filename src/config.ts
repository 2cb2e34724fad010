import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { AppError } from './shared/errors.ts';
import { redactUrl } from './shared/redact.ts';

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v) && URL.canParse(v), 'must be a postgres:// URL');

const httpUrl = z
  .string()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), 'must be an http(s):// URL');

const cronExpr = z.string().refine((v) => cron.validate(v), 'must be a valid cron expression');

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'must be a plain SQL identifier (letters, digits, _)');

/**
 * Node reads TZ itself and silently falls back to UTC for a zone it does not know; a typo would
 * shift every cron schedule and catalog date. ICU (what Node uses) judges the name, but it matches
 * names case-insensitively while the process zone needs the exact spelling ('europe/berlin' runs
 * as UTC): so a name that resolves to itself in another case is refused with the right spelling.
 * A path to a zoneinfo file (optionally after ':') is what glibc and Node also accept.
 */
const timeZone = z.string().superRefine((v, ctx) => {
  const name = v.replace(/^:/, '');
  if (path.isAbsolute(name) && statOrNull(name)?.isFile()) return;
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  if (resolved !== undefined && !(resolved !== name && resolved.toLowerCase() === name.toLowerCase())) return;
  ctx.addIssue({
    code: 'custom',
    message: resolved
      ? `must be spelled ${resolved} (Node does not match time zone names case-insensitively and would use UTC)`
      : 'must be an IANA time zone such as Europe/Berlin or UTC (Node would silently use UTC)',
  });
});

/** stat, or null when nothing is there (ENOTDIR: a parent is a file; the loop finds which). */
function statOrNull(p: string) {
  try {
    return statSync(p, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/**
 * A directory the service creates when missing (FEEDS_DIR, EMBEDDED_PG_DIR): neither it nor any
 * existing parent may be a file, otherwise every run would fail deep inside with ENOTDIR/EEXIST.
 */
const directory = z
  .string()
  .min(1)
  .superRefine((v, ctx) => {
    for (let dir = path.resolve(v); ; dir = path.dirname(dir)) {
      const st = statOrNull(dir);
      if (st && !st.isDirectory()) {
        ctx.addIssue({
          code: 'custom',
          message:
            dir === path.resolve(v)
              ? 'is a file, not a directory'
              : `is under ${JSON.stringify(dir)}, which is a file, not a directory`,
        });
        return;
      }
      if (st || dir === path.dirname(dir)) return;
    }
  });

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const durationRule = (min: number, max: number) =>
  `must be a duration like 90s, 30m, 24h or 7d (from ${min} s to ${max / 86_400} d)`;
/** A duration with a unit (s, m, h, d), in whole seconds. */
const duration = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,7}[smhd]$/, durationRule(min, max))
    .transform((v) => Number(v.slice(0, -1)) * DURATION_UNITS[v.slice(-1)]!)
    .refine((n) => n >= min && n <= max, durationRule(min, max));

/** Trailing slash so that `new URL(relative, base)` appends instead of replacing the last segment. */
const withSlash = (u: string) => (u.endsWith('/') ? u : `${u}/`);

const EnvSchema = z.object({
  DATABASE_URL: postgresUrl.optional(),
  STATE_DATABASE_URL: postgresUrl.optional(),
  CATALOG_SCHEMA: identifier.default('store'),
  FEEDS_DIR: directory.default('./feeds'),
  FEED_BASE_URL: httpUrl.optional(),
  FEED_KEEP_VERSIONS: intIn(1, 100).default(5),
  RR_PARTNER_ID: z.string().max(100, 'must be at most 100 characters').optional(),
  // Retail Rocket's keys are 24 hex digits. A shorter one is a mistake, and would make the
  // redaction of every log line and error (each occurrence of the key) mangle ordinary text.
  RR_API_KEY: z
    .string()
    .min(8, 'must be at least 8 characters (Retail Rocket gives a 24-character key)')
    .max(200, 'must be at most 200 characters')
    .optional(),
  RR_TRACKING_URL: httpUrl.default('https://apptracking.retailrocket.net/1.0/').transform(withSlash),
  RR_RECOMMENDATIONS_URL: httpUrl
    .default('https://externalapi.retailrocket.net/api/3.0/')
    .transform(withSlash),
  RR_PRODUCT_API_URL: httpUrl.default('https://api.retailrocket.net/api/1.0/').transform(withSlash),
  RR_TIMEOUT_MS: intIn(1, 60_000).default(500),
  RR_RATE_LIMIT: intIn(1, 100_000).default(600),
  RR_PUSH_RATE: intIn(1, 100_000).default(100),
  RR_PUSH_MAX_ATTEMPTS: intIn(1, 1000).default(10),
  // on: honour Retail Rocket's Cache-Control (an hour for most algorithms); off (or 0): never cache;
  // N: cache at most N seconds (a demo wants to see an order change `related` at once).
  RR_RECS_CACHE: z
    .string()
    .regex(/^(on|off|\d{1,6})$/i, 'must be on, off, or a whole number of seconds from 0 to 86400')
    .transform((v) => (/^on$/i.test(v) ? undefined : /^off$/i.test(v) ? 0 : Number(v)))
    .refine(
      (n) => n === undefined || n <= 86_400,
      'must be on, off, or a whole number of seconds from 0 to 86400',
    )
    .optional(),
  RR_CA_FILE: z
    .string()
    .refine((p) => existsSync(p), 'file does not exist')
    .optional(),
  PORT: intIn(0, 65535).default(8080),
  HTTP_HEADERS_TIMEOUT_MS: intIn(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: intIn(100, 3_600_000).default(30_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: intIn(100, 600_000).default(5_000),
  HTTP_STALL_TIMEOUT_MS: intIn(100, 3_600_000).default(30_000),
  HTTP_MAX_CONNECTIONS: intIn(1, 100_000).default(256),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  FEED_TOKEN: z.string().min(8, 'must be at least 8 characters').optional(),
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  EVENT_PARK_TTL: duration(60, 30 * 86_400).default(24 * 3600),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // Freshness alerts (issue 9): Retail Rocket only e-mails after 12 h of failed pulls.
  ALERT_FEED_PULL_MAX_AGE: duration(60, 30 * 86_400).default(3 * 3600),
  ALERT_FEED_MAX_AGE: duration(60, 30 * 86_400).default(26 * 3600),
  ALERT_PENDING_MAX_AGE: duration(60, 30 * 86_400).default(3600),
  ALERT_BREAKER_OPEN_MAX: duration(10, 86_400).default(600),
  ALERT_WEBHOOK_URL: httpUrl.optional(),
  FEED_MAX_DROP: z
    .string()
    .regex(/^(0(\.\d+)?|1(\.0+)?)$/, 'must be a fraction from 0 to 1, e.g. 0.2')
    .transform(Number)
    .default(0.2),
  FEED_CRON: cronExpr.default('0 2 * * *'),
  SYNC_CRON: cronExpr.default('*/15 * * * *'),
  TZ: timeZone.optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  EMBEDDED_PG_DIR: directory.default('./.data/pg'),
  EMBEDDED_PG_PORT: intIn(1, 65535).optional(),
  EMBEDDED_PG_SYSTEM_DIR: z
    .string()
    .refine((p) => path.isAbsolute(p), 'must be an absolute path')
    .default('/var/lib/rr-sync'),
});

export type Config = Readonly<{
  databaseUrl?: string;
  stateDatabaseUrl?: string;
  catalogSchema: string;
  feedsDir: string;
  feedBaseUrl?: string;
  feedKeepVersions: number;
  rr: Readonly<{
    partnerId?: string;
    apiKey?: string;
    trackingUrl: string;
    recommendationsUrl: string;
    productApiUrl: string;
    timeoutMs: number;
    rateLimit: number;
    caFile?: string;
    /** Cap on how long recommendation answers are cached, in seconds (0 = off); unset: as Cache-Control says. */
    recsCacheMaxAgeSeconds?: number;
  }>;
  /** The Product API pusher (design §5): pushes/s, and attempts before a dead letter. */
  push: Readonly<{ rate: number; maxAttempts: number }>;
  port: number;
  /** Limits that keep a slow or idle client from holding the HTTP server (src/server). */
  http: Readonly<{
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    stallTimeoutMs: number;
    maxConnections: number;
  }>;
  adminToken?: string;
  feedToken?: string;
  /** When set, the storefront API (`/v1/*`) needs it as a Bearer token. */
  apiToken?: string;
  /** How long an event naming an id the catalog does not know yet waits for a sync, in seconds. */
  eventParkTtlSeconds: number;
  /** When set, `/metrics` needs it as a Bearer token. */
  metricsToken?: string;
  /** Freshness alert thresholds in seconds, and where transitions are POSTed (src/ops). */
  alerts: Readonly<{
    feedPullMaxAgeSeconds: number;
    feedMaxAgeSeconds: number;
    pendingMaxAgeSeconds: number;
    breakerOpenMaxSeconds: number;
    webhookUrl?: string;
  }>;
  feedMaxDrop: number;
  feedCron: string;
  syncCron: string;
  timeZone?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** `port` unset: a free port, remembered per data directory. */
  embeddedPg: Readonly<{ dir: string; port?: number; systemDir: string }>;
}>;

/** Variables whose values are secret: a config error names them but never echoes their value. */
// ALERT_WEBHOOK_URL: chat webhooks carry their secret in the path, where redactUrl does not look.
export const SECRET_VARS = new Set([
  'RR_API_KEY',
  'ADMIN_TOKEN',
  'FEED_TOKEN',
  'API_TOKEN',
  'METRICS_TOKEN',
  'ALERT_WEBHOOK_URL',
]);

/** Where a variable's value came from when it was not the process environment (for messages). */
export interface ConfigSources {
  /** The .env file that was read, and the variables it set (those not already in the environment). */
  envFile?: { path: string; keys: ReadonlySet<string> };
}

/** How a bad value is shown: never a secret, and a URL (which may carry a password) without its user-info. */
function shownValue(name: string, value: string | undefined): string {
  if (value === undefined || SECRET_VARS.has(name)) return '';
  return ` (got ${JSON.stringify(/_URL$/.test(name) ? redactUrl(value) : value)})`;
}

type Env = z.infer<typeof EnvSchema>;

/** Rules between variables, reported like a bad value of the first one named. */
function crossFieldIssues(e: Env): { path: PropertyKey[]; message: string }[] {
  const issues: { path: PropertyKey[]; message: string }[] = [];
  // Node refuses a server whose headers deadline is longer than its whole-request deadline.
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS)
    issues.push({
      path: ['HTTP_HEADERS_TIMEOUT_MS'],
      message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${e.HTTP_REQUEST_TIMEOUT_MS})`,
    });
  return issues;
}

/**
 * Parse the environment once into a frozen Config. Empty strings count as unset, so that
 * `FOO=` in a .env file means "use the default". A bad value throws `config.invalid` (exit 2)
 * naming every offending variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, sources: ConfigSources = {}): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') raw[key] = v.trim();
  }
  const parsed = EnvSchema.safeParse(raw);
  const issues = parsed.success ? crossFieldIssues(parsed.data) : parsed.error.issues;
  if (!parsed.success || issues.length > 0) {
    const lines = issues.map((issue) => {
      const name = String(issue.path[0]);
      const from = sources.envFile?.keys.has(name) ? ` (set in ${sources.envFile.path})` : '';
      return `${name}: ${issue.message}${shownValue(name, raw[name])}${from}`;
    });
    throw new AppError('config.invalid', `Invalid configuration:\n  ${lines.join('\n  ')}`, {
      details: { variables: issues.map((i) => String(i.path[0])) },
    });
  }
  const e = parsed.data;
  if (e.RR_PUSH_RATE > e.RR_RATE_LIMIT) {
    // Pushes are bulk calls under the site limit; above it they would starve events and recommendations.
    throw new AppError(
      'config.invalid',
      `Invalid configuration:\n  RR_PUSH_RATE: must not exceed RR_RATE_LIMIT (${e.RR_RATE_LIMIT}) (got "${e.RR_PUSH_RATE}")`,
      { details: { variables: ['RR_PUSH_RATE'] } },
    );
  }
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    stateDatabaseUrl: e.STATE_DATABASE_URL,
    catalogSchema: e.CATALOG_SCHEMA,
    feedsDir: path.resolve(e.FEEDS_DIR),
    feedBaseUrl: e.FEED_BASE_URL,
    feedKeepVersions: e.FEED_KEEP_VERSIONS,
    rr: Object.freeze({
      partnerId: e.RR_PARTNER_ID,
      apiKey: e.RR_API_KEY,
      trackingUrl: e.RR_TRACKING_URL,
      recommendationsUrl: e.RR_RECOMMENDATIONS_URL,
      productApiUrl: e.RR_PRODUCT_API_URL,
      timeoutMs: e.RR_TIMEOUT_MS,
      rateLimit: e.RR_RATE_LIMIT,
      caFile: e.RR_CA_FILE,
      recsCacheMaxAgeSeconds: e.RR_RECS_CACHE,
    }),
    push: Object.freeze({ rate: e.RR_PUSH_RATE, maxAttempts: e.RR_PUSH_MAX_ATTEMPTS }),
    port: e.PORT,
    http: Object.freeze({
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      stallTimeoutMs: e.HTTP_STALL_TIMEOUT_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
    }),
    adminToken: e.ADMIN_TOKEN,
    feedToken: e.FEED_TOKEN,
    apiToken: e.API_TOKEN,
    eventParkTtlSeconds: e.EVENT_PARK_TTL,
    metricsToken: e.METRICS_TOKEN,
    alerts: Object.freeze({
      feedPullMaxAgeSeconds: e.ALERT_FEED_PULL_MAX_AGE,
      feedMaxAgeSeconds: e.ALERT_FEED_MAX_AGE,
      pendingMaxAgeSeconds: e.ALERT_PENDING_MAX_AGE,
      breakerOpenMaxSeconds: e.ALERT_BREAKER_OPEN_MAX,
      webhookUrl: e.ALERT_WEBHOOK_URL,
    }),
    feedMaxDrop: e.FEED_MAX_DROP,
    feedCron: e.FEED_CRON,
    syncCron: e.SYNC_CRON,
    timeZone: e.TZ,
    logLevel: e.LOG_LEVEL,
    embeddedPg: Object.freeze({
      dir: path.resolve(e.EMBEDDED_PG_DIR),
      port: e.EMBEDDED_PG_PORT,
      systemDir: e.EMBEDDED_PG_SYSTEM_DIR,
    }),
  });
}

/** Every variable loadConfig reads, for `--help` and the README test. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape);
