import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config.ts';

const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
/** Every `# NAME=value` line with its `# ` removed, read by Node's own .env parser (what the CLI uses). */
const uncommented = parseEnv(
  example
    .split('\n')
    .filter((line) => /^# [A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => line.slice(2))
    .join('\n'),
);

describe('.env.example', () => {
  it('sets nothing as shipped: every line is a comment', () => {
    expect(parseEnv(example)).toEqual({});
  });

  it.each(CONFIG_VARIABLES)('shows %s', (name) => {
    expect(Object.keys(uncommented)).toContain(name);
  });

  it('shows only values loadConfig accepts, and the real defaults', () => {
    // RR_CA_FILE must name an existing file; the example's path exists only after `rr-sync emulator`.
    const { RR_CA_FILE: _ca, ...env } = uncommented;
    const config = loadConfig(env);
    const defaults = loadConfig({});
    expect(config.catalogSchema).toBe(defaults.catalogSchema);
    expect(config.feedsDir).toBe(defaults.feedsDir);
    expect(config.port).toBe(defaults.port);
    expect(config.feedCron).toBe(defaults.feedCron);
    expect(config.syncCron).toBe(defaults.syncCron);
    expect(config.feedKeepVersions).toBe(defaults.feedKeepVersions);
    expect(config.feedMaxDrop).toBe(defaults.feedMaxDrop);
    expect(config.logLevel).toBe(defaults.logLevel);
    expect(config.push).toEqual(defaults.push);
    expect(config.rr.recsCacheMaxAgeSeconds).toBe(defaults.rr.recsCacheMaxAgeSeconds);
    expect(config.http).toEqual(defaults.http);
    expect(config.embeddedPg.dir).toBe(defaults.embeddedPg.dir);
    expect(config.embeddedPg.systemDir).toBe(defaults.embeddedPg.systemDir);
    expect(config.rr).toMatchObject({
      trackingUrl: defaults.rr.trackingUrl,
      recommendationsUrl: defaults.rr.recommendationsUrl,
      productApiUrl: defaults.rr.productApiUrl,
      timeoutMs: defaults.rr.timeoutMs,
      rateLimit: defaults.rr.rateLimit,
    });
  });
});
