import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { AppError } from '../../src/shared/errors.ts';

function configError(env: Record<string, string>): AppError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected loadConfig to refuse');
}

describe('embedded PostgreSQL configuration', () => {
  it('leaves the port unset by default (a free one is picked per data directory)', () => {
    expect(loadConfig({}).embeddedPg).toEqual({
      dir: expect.stringMatching(/\/\.data\/pg$/),
      port: undefined,
      systemDir: '/var/lib/rr-sync',
    });
    expect(
      loadConfig({ EMBEDDED_PG_PORT: '6543', EMBEDDED_PG_SYSTEM_DIR: '/srv/rr' }).embeddedPg,
    ).toMatchObject({
      port: 6543,
      systemDir: '/srv/rr',
    });
  });

  it.each([
    ['EMBEDDED_PG_PORT', '0'],
    ['EMBEDDED_PG_PORT', '65536'],
    ['EMBEDDED_PG_PORT', 'fivefour'],
    ['EMBEDDED_PG_SYSTEM_DIR', 'var/lib/rr-sync'],
    ['EMBEDDED_PG_SYSTEM_DIR', './rr'],
  ])('refuses %s=%j with config.invalid (exit 2) naming the variable', (name, value) => {
    const err = configError({ [name]: value });
    expect(err.code).toBe('config.invalid');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(name);
  });
});
