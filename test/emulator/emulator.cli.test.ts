import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorCommand, resolveEmulatorSettings } from '../../src/cli/commands/emulator.command.ts';
import type { CommandContext } from '../../src/cli/command.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_PARTNER, startEmulator } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';

const P1 = { partnerId: '111111111111111111111111', apiKey: 'aaaaaaaaaaaaaaaaaaaaaaaa' };
const P2 = { partnerId: '222222222222222222222222', apiKey: 'bbbbbbbbbbbbbbbbbbbbbbbb' };

function refusal(flags: CommandContext['flags'], env: Record<string, string>): Error {
  try {
    resolveEmulatorSettings(flags, env);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`accepted ${JSON.stringify({ flags, env })}`);
}

describe('rr-sync emulator settings', () => {
  it("refuses partner ids and api keys not in Retail Rocket's format, the README placeholder first", () => {
    const placeholder = refusal({ partner: ['5f1b...:mykey'] }, {});
    expect(placeholder).toMatchObject({ code: 'usage.invalid', exitCode: 2 });
    expect(placeholder.message).toBe(
      '--partner / EMULATOR_PARTNERS: partnerId "5f1b..." is not in Retail Rocket\'s format: 24 lowercase hex characters, e.g. a1b2c3d4e5f6a7b8c9d0e1f2 (use your own from my.retailrocket.net, or omit it for the demo pair)',
    );
    const upper = refusal(
      {},
      { EMULATOR_PARTNERS: `${P1.partnerId.toUpperCase().replace(/1/g, 'A')}:${P1.apiKey}` },
    );
    expect(upper.message).toMatch(
      /^--partner \/ EMULATOR_PARTNERS: partnerId "A{24}" is not in Retail Rocket's format/,
    );
    const key = refusal({ partner: [`${P1.partnerId}:my-secret-key-123`] }, {});
    expect(key.message).toBe(
      `--partner / EMULATOR_PARTNERS: the apiKey of partner ${P1.partnerId} is not in Retail Rocket's format: 24 lowercase hex characters (the key is not shown)`,
    );
    expect(key.message).not.toContain('my-secret-key-123');
  });

  it('refuses the same placeholder given to startEmulator in code', async () => {
    await expect(
      startEmulator({ port: 0, httpPort: 0, partners: [{ partnerId: '5f1b...', apiKey: P1.apiKey }] }),
    ).rejects.toMatchObject({
      code: 'usage.invalid',
      message: expect.stringMatching(/partnerId "5f1b\.\.\." is not/),
    });
  });

  it('reads the pull deadline from --feed-timeout / EMULATOR_FEED_TIMEOUT in seconds', () => {
    expect(resolveEmulatorSettings({}, { EMULATOR_FEED_TIMEOUT: '20' }).options.behaviour).toEqual({
      feedPullTimeoutMs: 20_000,
    });
    expect(resolveEmulatorSettings({ 'feed-timeout': '7' }, {}).options.behaviour).toEqual({
      feedPullTimeoutMs: 7_000,
    });
  });

  it('reads --admin-token / EMULATOR_ADMIN_TOKEN and refuses one shorter than 16 characters', () => {
    expect(
      resolveEmulatorSettings({}, { EMULATOR_ADMIN_TOKEN: 'a-long-admin-token' }).options.adminToken,
    ).toBe('a-long-admin-token');
    const short = refusal({ 'admin-token': 'short-secret' }, {});
    expect(short.message).toBe('--admin-token / EMULATOR_ADMIN_TOKEN: must be at least 16 characters');
  });

  it('takes flags over EMULATOR_* variables over defaults', () => {
    const { options, userPartners } = resolveEmulatorSettings(
      { port: '0', partner: [`${P1.partnerId}:${P1.apiKey}`, `${P2.partnerId}:${P2.apiKey}`] },
      {
        EMULATOR_PORT: '7000',
        EMULATOR_HTTP_PORT: '7001',
        EMULATOR_PARTNERS: `${P2.partnerId}:${P1.apiKey}`,
        EMULATOR_ERROR_RATE: '0.25',
      },
    );
    expect(options).toMatchObject({
      port: 0,
      httpPort: 7001,
      partners: [P1, P2],
      faults: { delayMs: 0, errorRate: 0.25 },
      feedIntervalSeconds: 900,
      behaviour: { feedPullTimeoutMs: 300_000 },
      strict: true,
    });
    expect(userPartners).toBe(true);
  });

  it('reads partners from EMULATOR_PARTNERS and falls back to the demo pair', () => {
    const env = { EMULATOR_PARTNERS: `${P1.partnerId}:${P1.apiKey}, ${P2.partnerId}:${P2.apiKey}` };
    expect(resolveEmulatorSettings({}, env).options.partners).toEqual([P1, P2]);
    const demo = resolveEmulatorSettings({}, {});
    expect(demo.options.partners).toEqual([DEMO_PARTNER]);
    expect(demo.userPartners).toBe(false);
  });

  it('refuses bad values naming the flag and the variable (exit 2)', () => {
    const cases: [Record<string, string | string[]>, Record<string, string>, RegExp][] = [
      [{ port: 'abc' }, {}, /--port \/ EMULATOR_PORT/],
      [{}, { EMULATOR_HTTP_PORT: '70000' }, /--http-port \/ EMULATOR_HTTP_PORT/],
      [{ partner: ['no-colon'] }, {}, /--partner \/ EMULATOR_PARTNERS.*<partnerId>:<apiKey>/],
      [{ 'error-rate': '1.5' }, {}, /--error-rate/],
      [{ 'feed-url': 'ftp://x' }, {}, /--feed-url/],
      [
        {},
        { EMULATOR_FEED_TIMEOUT: '0' },
        /--feed-timeout \/ EMULATOR_FEED_TIMEOUT: must be a whole number of seconds >= 1/,
      ],
    ];
    for (const [flags, env, message] of cases) {
      let caught: unknown;
      try {
        resolveEmulatorSettings(flags, env);
      } catch (err) {
        caught = err;
      }
      expect(caught).toMatchObject({ code: 'usage.invalid', exitCode: 2 });
      expect((caught as Error).message).toMatch(message);
    }
  });
});

async function runCommand(flags: CommandContext['flags'], json = false) {
  const lines: string[] = [];
  const controller = new AbortController();
  let printed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (printed = resolve));
  const ctx: CommandContext & { env: Record<string, string> } = {
    flags,
    positionals: [],
    config: loadConfig({}),
    logger: silentLogger,
    out: (line) => {
      lines.push(line);
      printed();
    },
    json,
    signal: controller.signal,
    env: {},
  };
  const done = emulatorCommand.run(ctx);
  await Promise.race([ready, done]);
  return { lines, stop: async () => (controller.abort(), done) };
}

describe('rr-sync emulator', () => {
  it('prints its URLs, the CA file and the RR_* lines, never the apiKey of a user partner, and stops on abort', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'emu-cli-'));
    const run = await runCommand({
      port: '0',
      'http-port': '0',
      partner: ['5f1b2c3d4e5f60718293a4b5:7e57c0ffee7e57c0ffee7e57'],
      'data-dir': dataDir,
    });
    const text = run.lines.join('\n');
    const h2Url = /HTTP\/2 \(TLS\): (https:\/\/\S+)/.exec(text)?.[1];
    const httpUrl = /HTTP\/1\.1: +(http:\/\/\S+)/.exec(text)?.[1];
    expect(text).toContain(`RR_TRACKING_URL=${h2Url}/1.0/`);
    expect(text).toContain(`RR_RECOMMENDATIONS_URL=${h2Url}/api/3.0/`);
    expect(text).toContain(`RR_PRODUCT_API_URL=${h2Url}/api/1.0/`);
    expect(text).toContain(`RR_CA_FILE=${path.join(dataDir, 'emulator-ca.pem')}`);
    expect(text).toContain('RR_PARTNER_ID=5f1b2c3d4e5f60718293a4b5');
    expect(text).not.toContain('7e57c0ffee7e57c0ffee7e57');
    const health = await fetch(`${httpUrl}/__emulator/health`);
    expect(health.status).toBe(200);
    expect(await run.stop()).toBe(0);
    await expect(fetch(`${httpUrl}/__emulator/health`)).rejects.toThrow();
  });

  it('prints the public demo key and a JSON summary with --json, reusing the CA kept in the data dir', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'emu-cli-'));
    const first = await runCommand({ port: '0', 'http-port': '0', 'data-dir': dataDir }, true);
    const summary = JSON.parse(first.lines[0] as string);
    await first.stop();
    expect(summary.env).toContain(`RR_API_KEY=${DEMO_PARTNER.apiKey}`);
    expect(summary.caFile).toBe(path.join(dataDir, 'emulator-ca.pem'));
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(summary.caFile, 'utf8');
    const second = await runCommand({ port: '0', 'http-port': '0', 'data-dir': dataDir }, true);
    await second.stop();
    expect(await readFile(summary.caFile, 'utf8')).toBe(ca);
  });

  it('fails with config.invalid when the port is taken', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'emu-cli-'));
    const first = await runCommand({ port: '0', 'http-port': '0', 'data-dir': dataDir }, true);
    const taken = new URL(JSON.parse(first.lines[0] as string).httpUrl).port;
    try {
      await expect(runCommand({ port: '0', 'http-port': taken, 'data-dir': dataDir })).rejects.toMatchObject({
        code: 'config.invalid',
      });
    } finally {
      await first.stop();
    }
  });
});
