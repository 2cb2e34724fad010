import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';
import { AppError } from '../src/shared/errors.ts';
import { runCli } from './feed/feed.harness.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'rr-config-test-'));
const aFile = path.join(dir, 'a-file');
writeFileSync(aFile, 'not a directory');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Loads and returns the config.invalid error (or fails the test). */
function invalid(env: Record<string, string>, sources?: Parameters<typeof loadConfig>[1]): AppError {
  try {
    loadConfig(env, sources);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('config.invalid');
    expect((err as AppError).exitCode).toBe(2);
    return err as AppError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

/**
 * A bad value for every variable loadConfig reads, with the exact line the user sees. Secret
 * values are never echoed; URL values are echoed without their user-info.
 */
const BAD: Record<string, { value: string; line: string; secret?: string }[]> = {
  DATABASE_URL: [
    {
      value: 'mysql://shop:pw-DB-1@db.example/store',
      line: 'DATABASE_URL: must be a postgres:// URL (got "mysql://***@db.example/store")',
      secret: 'pw-DB-1',
    },
  ],
  STATE_DATABASE_URL: [
    {
      value: 'postgres://state:pw/DB@2@[::1',
      line: 'STATE_DATABASE_URL: must be a postgres:// URL (got "postgres://***@[::1")',
      secret: 'pw/DB',
    },
  ],
  CATALOG_SCHEMA: [
    {
      value: 'my-store',
      line: 'CATALOG_SCHEMA: must be a plain SQL identifier (letters, digits, _) (got "my-store")',
    },
  ],
  FEEDS_DIR: [
    { value: aFile, line: `FEEDS_DIR: is a file, not a directory (got ${JSON.stringify(aFile)})` },
    {
      value: path.join(aFile, 'feeds'),
      line: `FEEDS_DIR: is under ${JSON.stringify(aFile)}, which is a file, not a directory (got ${JSON.stringify(path.join(aFile, 'feeds'))})`,
    },
  ],
  FEED_BASE_URL: [
    {
      value: 'ftp://feeds:pw-FB-3@shop.example/',
      line: 'FEED_BASE_URL: must be an http(s):// URL (got "ftp://***@shop.example/")',
      secret: 'pw-FB-3',
    },
  ],
  FEED_KEEP_VERSIONS: [
    { value: '0', line: 'FEED_KEEP_VERSIONS: must be a whole number from 1 to 100 (got "0")' },
    { value: 'five', line: 'FEED_KEEP_VERSIONS: must be a whole number from 1 to 100 (got "five")' },
  ],
  RR_PARTNER_ID: [
    {
      value: 'p'.repeat(101),
      line: `RR_PARTNER_ID: must be at most 100 characters (got "${'p'.repeat(101)}")`,
    },
  ],
  RR_API_KEY: [
    {
      value: 'K'.repeat(196) + 'SECRT',
      line: 'RR_API_KEY: must be at most 200 characters',
      secret: 'SECRT',
    },
    {
      value: 'k3y-5',
      line: 'RR_API_KEY: must be at least 8 characters (Retail Rocket gives a 24-character key)',
      secret: 'k3y-5',
    },
  ],
  RR_TRACKING_URL: [
    {
      value: 'file://u:pw-TR-4@x/1.0/',
      line: 'RR_TRACKING_URL: must be an http(s):// URL (got "file://***@x/1.0/")',
      secret: 'pw-TR-4',
    },
  ],
  RR_RECOMMENDATIONS_URL: [
    {
      value: 'api.retailrocket.net',
      line: 'RR_RECOMMENDATIONS_URL: must be an http(s):// URL (got "api.retailrocket.net")',
    },
  ],
  RR_PRODUCT_API_URL: [
    {
      value: 'https://u:pw-PA-5@exa mple/',
      line: 'RR_PRODUCT_API_URL: must be an http(s):// URL (got "https://***@exa mple/")',
      secret: 'pw-PA-5',
    },
  ],
  RR_TIMEOUT_MS: [
    { value: '0', line: 'RR_TIMEOUT_MS: must be a whole number from 1 to 60000 (got "0")' },
    { value: '1.5', line: 'RR_TIMEOUT_MS: must be a whole number from 1 to 60000 (got "1.5")' },
  ],
  RR_RATE_LIMIT: [
    { value: '100001', line: 'RR_RATE_LIMIT: must be a whole number from 1 to 100000 (got "100001")' },
  ],
  RR_CA_FILE: [
    {
      value: path.join(dir, 'missing.pem'),
      line: `RR_CA_FILE: file does not exist (got ${JSON.stringify(path.join(dir, 'missing.pem'))})`,
    },
  ],
  PORT: [{ value: '65536', line: 'PORT: must be a whole number from 0 to 65535 (got "65536")' }],
  HTTP_HEADERS_TIMEOUT_MS: [
    { value: '99', line: 'HTTP_HEADERS_TIMEOUT_MS: must be a whole number from 100 to 600000 (got "99")' },
  ],
  HTTP_REQUEST_TIMEOUT_MS: [
    { value: '30s', line: 'HTTP_REQUEST_TIMEOUT_MS: must be a whole number from 100 to 3600000 (got "30s")' },
  ],
  HTTP_KEEP_ALIVE_TIMEOUT_MS: [
    { value: '0', line: 'HTTP_KEEP_ALIVE_TIMEOUT_MS: must be a whole number from 100 to 600000 (got "0")' },
  ],
  HTTP_STALL_TIMEOUT_MS: [
    { value: '-1', line: 'HTTP_STALL_TIMEOUT_MS: must be a whole number from 100 to 3600000 (got "-1")' },
  ],
  HTTP_MAX_CONNECTIONS: [
    { value: '0', line: 'HTTP_MAX_CONNECTIONS: must be a whole number from 1 to 100000 (got "0")' },
  ],
  ADMIN_TOKEN: [
    { value: 'short-ADM', line: 'ADMIN_TOKEN: must be at least 16 characters', secret: 'short-ADM' },
  ],
  FEED_TOKEN: [{ value: 'FTK-1', line: 'FEED_TOKEN: must be at least 8 characters', secret: 'FTK-1' }],
  API_TOKEN: [{ value: 'api-short', line: 'API_TOKEN: must be at least 16 characters', secret: 'api-short' }],
  EVENT_PARK_TTL: [
    {
      value: '24',
      line: 'EVENT_PARK_TTL: must be a duration like 90s, 30m, 24h or 7d (from 60 s to 30 d) (got "24")',
    },
    {
      value: '31d',
      line: 'EVENT_PARK_TTL: must be a duration like 90s, 30m, 24h or 7d (from 60 s to 30 d) (got "31d")',
    },
  ],
  METRICS_TOKEN: [
    {
      value: 'metrics-short',
      line: 'METRICS_TOKEN: must be at least 16 characters',
      secret: 'metrics-short',
    },
  ],
  ALERT_FEED_PULL_MAX_AGE: [
    {
      value: '3 hours',
      line: 'ALERT_FEED_PULL_MAX_AGE: must be a duration like 90s, 30m, 24h or 7d (from 60 s to 30 d) (got "3 hours")',
    },
  ],
  ALERT_FEED_MAX_AGE: [
    {
      value: '59s',
      line: 'ALERT_FEED_MAX_AGE: must be a duration like 90s, 30m, 24h or 7d (from 60 s to 30 d) (got "59s")',
    },
  ],
  ALERT_PENDING_MAX_AGE: [
    {
      value: '31d',
      line: 'ALERT_PENDING_MAX_AGE: must be a duration like 90s, 30m, 24h or 7d (from 60 s to 30 d) (got "31d")',
    },
  ],
  ALERT_BREAKER_OPEN_MAX: [
    {
      value: '2d',
      line: 'ALERT_BREAKER_OPEN_MAX: must be a duration like 90s, 30m, 24h or 7d (from 10 s to 1 d) (got "2d")',
    },
  ],
  ALERT_WEBHOOK_URL: [
    {
      value: 'hooks.example/T0/secret-WH-9',
      line: 'ALERT_WEBHOOK_URL: must be an http(s):// URL',
      secret: 'secret-WH-9',
    },
  ],
  FEED_MAX_DROP: [
    { value: '20%', line: 'FEED_MAX_DROP: must be a fraction from 0 to 1, e.g. 0.2 (got "20%")' },
    { value: '1.5', line: 'FEED_MAX_DROP: must be a fraction from 0 to 1, e.g. 0.2 (got "1.5")' },
  ],
  FEED_CRON: [{ value: '61 * * * *', line: 'FEED_CRON: must be a valid cron expression (got "61 * * * *")' }],
  SYNC_CRON: [{ value: 'hourly', line: 'SYNC_CRON: must be a valid cron expression (got "hourly")' }],
  TZ: [
    {
      value: 'Mars/Olympus',
      line: 'TZ: must be an IANA time zone such as Europe/Berlin or UTC (Node would silently use UTC) (got "Mars/Olympus")',
    },
    {
      value: 'europe/berlin',
      line: 'TZ: must be spelled Europe/Berlin (Node does not match time zone names case-insensitively and would use UTC) (got "europe/berlin")',
    },
  ],
  LOG_LEVEL: [
    {
      value: 'verbose',
      line: 'LOG_LEVEL: Invalid option: expected one of "debug"|"info"|"warn"|"error"|"silent" (got "verbose")',
    },
  ],
  EMBEDDED_PG_DIR: [
    { value: aFile, line: `EMBEDDED_PG_DIR: is a file, not a directory (got ${JSON.stringify(aFile)})` },
  ],
  EMBEDDED_PG_PORT: [
    { value: '0', line: 'EMBEDDED_PG_PORT: must be a whole number from 1 to 65535 (got "0")' },
  ],
  EMBEDDED_PG_SYSTEM_DIR: [
    { value: 'var/lib', line: 'EMBEDDED_PG_SYSTEM_DIR: must be an absolute path (got "var/lib")' },
  ],
  RR_PUSH_RATE: [
    { value: '0', line: 'RR_PUSH_RATE: must be a whole number from 1 to 100000 (got "0")' },
    { value: '601', line: 'RR_PUSH_RATE: must not exceed RR_RATE_LIMIT (600) (got "601")' },
  ],
  RR_PUSH_MAX_ATTEMPTS: [
    { value: '0', line: 'RR_PUSH_MAX_ATTEMPTS: must be a whole number from 1 to 1000 (got "0")' },
  ],
  RR_RECS_CACHE: [
    {
      value: 'sometimes',
      line: 'RR_RECS_CACHE: must be on, off, or a whole number of seconds from 0 to 86400 (got "sometimes")',
    },
    {
      value: '90000',
      line: 'RR_RECS_CACHE: must be on, off, or a whole number of seconds from 0 to 86400 (got "90000")',
    },
  ],
};

describe('loadConfig: bad values', () => {
  it('has a bad-value case for every variable it reads', () => {
    expect(Object.keys(BAD).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  const cases = Object.entries(BAD).flatMap(([name, list]) => list.map((c) => [name, c] as const));
  it.each(cases)('%s=%j is config.invalid naming the variable', (name, c) => {
    const err = invalid({ [name]: c.value });
    expect(err.message).toBe(`Invalid configuration:\n  ${c.line}`);
    expect(err.details).toEqual({ variables: [name] });
    if (c.secret) expect(JSON.stringify(err.toJSON())).not.toContain(c.secret);
  });

  it('names every bad variable at once, in one error', () => {
    const err = invalid({ PORT: 'x', TZ: 'Nowhere/Town', RR_API_KEY: 'k'.repeat(201) });
    expect(err.details).toEqual({ variables: ['RR_API_KEY', 'PORT', 'TZ'] });
  });

  it('says when a bad value came from the .env file', () => {
    const err = invalid(
      { PORT: 'eighty', TZ: 'Mars/Olympus' },
      { envFile: { path: '/srv/shop/.env', keys: new Set(['PORT']) } },
    );
    expect(err.message).toContain(
      'PORT: must be a whole number from 0 to 65535 (got "eighty") (set in /srv/shop/.env)',
    );
    expect(err.message).toMatch(/TZ: .*\(got "Mars\/Olympus"\)$/m);
    expect(err.message).not.toMatch(/TZ: .*set in/);
  });
});

describe('loadConfig: good values', () => {
  it('gives the documented defaults for an empty environment (empty strings count as unset)', () => {
    const config = loadConfig({ PORT: '', TZ: '  ' });
    expect(config).toEqual({
      databaseUrl: undefined,
      stateDatabaseUrl: undefined,
      catalogSchema: 'store',
      feedsDir: path.resolve('feeds'),
      feedBaseUrl: undefined,
      feedKeepVersions: 5,
      rr: {
        partnerId: undefined,
        apiKey: undefined,
        trackingUrl: 'https://apptracking.retailrocket.net/1.0/',
        recommendationsUrl: 'https://externalapi.retailrocket.net/api/3.0/',
        productApiUrl: 'https://api.retailrocket.net/api/1.0/',
        timeoutMs: 500,
        rateLimit: 600,
        caFile: undefined,
        recsCacheMaxAgeSeconds: undefined,
      },
      push: { rate: 100, maxAttempts: 10 },
      port: 8080,
      http: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        stallTimeoutMs: 30_000,
        maxConnections: 256,
      },
      adminToken: undefined,
      feedToken: undefined,
      apiToken: undefined,
      eventParkTtlSeconds: 86_400,
      metricsToken: undefined,
      alerts: {
        feedPullMaxAgeSeconds: 10_800,
        feedMaxAgeSeconds: 93_600,
        pendingMaxAgeSeconds: 3600,
        breakerOpenMaxSeconds: 600,
        webhookUrl: undefined,
      },
      feedMaxDrop: 0.2,
      feedCron: '0 2 * * *',
      syncCron: '*/15 * * * *',
      timeZone: undefined,
      logLevel: 'info',
      embeddedPg: { dir: path.resolve('.data/pg'), port: undefined, systemDir: '/var/lib/rr-sync' },
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.rr)).toBe(true);
  });

  it('reads the alert thresholds with their defaults (3h, 26h, 1h, 10m)', () => {
    expect(loadConfig({}).alerts).toEqual({
      feedPullMaxAgeSeconds: 10_800,
      feedMaxAgeSeconds: 93_600,
      pendingMaxAgeSeconds: 3600,
      breakerOpenMaxSeconds: 600,
      webhookUrl: undefined,
    });
    expect(
      loadConfig({ ALERT_FEED_PULL_MAX_AGE: '90m', ALERT_BREAKER_OPEN_MAX: '30s' }).alerts,
    ).toMatchObject({
      feedPullMaxAgeSeconds: 5400,
      breakerOpenMaxSeconds: 30,
    });
  });

  it('reads EVENT_PARK_TTL in seconds, minutes, hours or days', () => {
    expect(loadConfig({ EVENT_PARK_TTL: '90s' }).eventParkTtlSeconds).toBe(90);
    expect(loadConfig({ EVENT_PARK_TTL: '30m' }).eventParkTtlSeconds).toBe(1800);
    expect(loadConfig({ EVENT_PARK_TTL: '2h' }).eventParkTtlSeconds).toBe(7200);
    expect(loadConfig({ EVENT_PARK_TTL: '7d' }).eventParkTtlSeconds).toBe(604_800);
  });

  it('accepts time zones Node honours: IANA names, aliases and zoneinfo paths', () => {
    for (const tz of ['Europe/Berlin', 'UTC', 'Etc/UTC', 'US/Eastern', 'Asia/Kolkata', ':Europe/Berlin']) {
      expect(loadConfig({ TZ: tz }).timeZone).toBe(tz);
    }
    expect(loadConfig({ TZ: ':/etc/localtime' }).timeZone).toBe(':/etc/localtime');
  });

  it('accepts a FEEDS_DIR that does not exist yet, and adds the trailing slash to RR URLs', () => {
    const config = loadConfig({
      FEEDS_DIR: path.join(dir, 'new', 'feeds'),
      RR_TRACKING_URL: 'http://127.0.0.1:9080/1.0',
    });
    expect(config.feedsDir).toBe(path.join(dir, 'new', 'feeds'));
    expect(config.rr.trackingUrl).toBe('http://127.0.0.1:9080/1.0/');
  });
});

describe('the CLI on a bad configuration', () => {
  it('exits 2 naming TZ, with one JSON line under --json', async () => {
    const human = await runCli(['migrate'], { TZ: 'Mars/Olympus' });
    expect(human.code).toBe(2);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(
      'rr-sync migrate: Invalid configuration:\n  TZ: must be an IANA time zone',
    );
    const json = await runCli(['migrate', '--json'], { TZ: 'Mars/Olympus' });
    expect(json.code).toBe(2);
    expect(json.stdout.endsWith('\n')).toBe(true);
    expect(json.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: { code: 'config.invalid', details: { variables: ['TZ'] } },
    });
  });

  it('says the bad value came from the .env file it read', async () => {
    const envFile = path.join(dir, '.env');
    writeFileSync(envFile, '# shop settings\nPORT=eighty\nCATALOG_SCHEMA=shop\n');
    const run = await runCli(['migrate'], { CATALOG_SCHEMA: 'store' }, { envFile });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `PORT: must be a whole number from 0 to 65535 (got "eighty") (set in ${envFile})`,
    );
  });
});
