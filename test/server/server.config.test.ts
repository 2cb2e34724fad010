import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { AppError } from '../../src/shared/errors.ts';

function refusal(env: Record<string, string>): AppError {
  try {
    loadConfig(env);
  } catch (err) {
    return err as AppError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('HTTP server limits configuration', () => {
  it('has defaults that cut stalled and idle clients within seconds', () => {
    expect(loadConfig({}).http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      stallTimeoutMs: 30_000,
      maxConnections: 256,
    });
  });

  it('reads each variable', () => {
    const config = loadConfig({
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '4000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
      HTTP_STALL_TIMEOUT_MS: '9000',
      HTTP_MAX_CONNECTIONS: '10',
    });
    expect(config.http).toEqual({
      headersTimeoutMs: 2000,
      requestTimeoutMs: 4000,
      keepAliveTimeoutMs: 1000,
      stallTimeoutMs: 9000,
      maxConnections: 10,
    });
  });

  it.each([
    ['HTTP_HEADERS_TIMEOUT_MS', '10s', 'must be a whole number from 100 to 600000'],
    ['HTTP_HEADERS_TIMEOUT_MS', '50', 'must be a whole number from 100 to 600000'],
    ['HTTP_REQUEST_TIMEOUT_MS', '-1', 'must be a whole number from 100 to 3600000'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '0', 'must be a whole number from 100 to 600000'],
    ['HTTP_STALL_TIMEOUT_MS', '1e4', 'must be a whole number from 100 to 3600000'],
    ['HTTP_MAX_CONNECTIONS', '0', 'must be a whole number from 1 to 100000'],
    ['HTTP_MAX_CONNECTIONS', 'many', 'must be a whole number from 1 to 100000'],
  ])('refuses %s=%s with exit 2, naming the variable and the rule', (name, value, rule) => {
    const err = refusal({ [name]: value });
    expect(err).toMatchObject({ code: 'config.invalid', exitCode: 2 });
    expect(err.message).toBe(`Invalid configuration:\n  ${name}: ${rule} (got ${JSON.stringify(value)})`);
  });

  it('refuses a headers deadline longer than the whole-request deadline', () => {
    const err = refusal({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' });
    expect(err).toMatchObject({ code: 'config.invalid', exitCode: 2 });
    expect(err.message).toBe(
      'Invalid configuration:\n  HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (10000) (got "20000")',
    );
  });
});
