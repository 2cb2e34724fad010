import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorCommand, resolveEmulatorSettings } from '../../src/cli/commands/emulator.command.ts';
import type { CommandContext } from '../../src/cli/command.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_PARTNER } from '../../src/emulator/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';

describe('rr-sync emulator settings', () => {
  it('takes flags over EMULATOR_* variables over defaults', () => {
    const { options, userPartners } = resolveEmulatorSettings(
      { port: '0', partner: ['p1:k1', 'p2:k2'] },
      {
        EMULATOR_PORT: '7000',
        EMULATOR_HTTP_PORT: '7001',
        EMULATOR_PARTNERS: 'x:y',
        EMULATOR_ERROR_RATE: '0.25',
      },
    );
    expect(options).toMatchObject({
      port: 0,
      httpPort: 7001,
      partners: [
        { partnerId: 'p1', apiKey: 'k1' },
        { partnerId: 'p2', apiKey: 'k2' },
      ],
      faults: { delayMs: 0, errorRate: 0.25 },
      feedIntervalSeconds: 900,
      strict: true,
    });
    expect(userPartners).toBe(true);
  });

  it('reads partners from EMULATOR_PARTNERS and falls back to the demo pair', () => {
    expect(resolveEmulatorSettings({}, { EMULATOR_PARTNERS: 'a:b, c:d' }).options.partners).toEqual([
      { partnerId: 'a', apiKey: 'b' },
      { partnerId: 'c', apiKey: 'd' },
    ]);
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
      partner: ['5f1b2c3d4e5f60718293a4b5:user-secret-key'],
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
    expect(text).not.toContain('user-secret-key');
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
