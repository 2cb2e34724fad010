import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandEntry } from '../../src/cli/commands/index.ts';
import {
  createFeedHarness,
  products,
  readPublished,
  runCli,
  type FeedHarness,
} from '../feed/feed.harness.ts';
import { createStore } from '../feed/store.fixture.ts';
import { oneJsonLine, startCli } from './cli.run.ts';

let h: FeedHarness;
let dataDir: string;
beforeAll(async () => {
  h = await createFeedHarness();
  await createStore(h.db.pool, { products: products(3) });
  dataDir = await mkdtemp(path.join(tmpdir(), 'rr-cli-json-'));
});
afterAll(async () => {
  await h?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('--json: exactly one JSON line on stdout, whatever happens', () => {
  it('migrate, validate, feed and demo print their summary as the one line', async () => {
    const migrate = await runCli(['migrate', '--json'], h.env);
    expect(migrate.code).toBe(0);
    expect(oneJsonLine(migrate.stdout)).toEqual({ ok: true, applied: [], current: expect.any(Number) });

    const validate = await runCli(['validate', '--json'], h.env);
    expect(validate.code).toBe(0);
    expect(oneJsonLine(validate.stdout)).toMatchObject({ ok: true, status: 'validated', offers: 3 });

    const feed = await runCli(['--json', 'feed'], h.env);
    expect(feed.code).toBe(0);
    const published = await readPublished(h.feedsDir);
    expect(oneJsonLine(feed.stdout)).toMatchObject({
      ok: true,
      status: 'published',
      offers: 3,
      version: published!.manifest.version,
    });

    const demo = await runCli(['demo', '--products', '12', '--json'], {
      ...h.env,
      CATALOG_SCHEMA: 'demo_json',
    });
    expect(demo.code).toBe(0);
    expect(oneJsonLine(demo.stdout)).toMatchObject({ ok: true, schema: 'demo_json', products: 12 });
  });

  it('start prints one line once it serves: the feed summary and the URLs; its human lines go to stderr', async () => {
    const feedsDir = path.join(dataDir, 'start-feeds');
    const run = startCli(['start', '--json'], { ...h.env, FEEDS_DIR: feedsDir, PORT: '0' });
    const line = await run.firstLine();
    expect(typeof line).toBe('string');
    const ready = JSON.parse(line as string) as {
      listening: string;
      feedUrl: string;
      feed: { status: string };
    };
    expect(ready).toMatchObject({ ok: true, feed: { status: 'published', offers: 3 } });
    expect(ready.feedUrl).toBe(`${ready.listening}/feeds/catalog.xml`);
    const res = await fetch(`${ready.listening}/feeds/catalog.xml`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await run.stop()).toBe(0);
    oneJsonLine(run.stdout());
    expect(run.stderr()).toMatch(/^feed published: 3 offers/m);
    expect(run.stderr()).toMatch(/^serving http:/m);
  });

  it('serve prints one line once it listens', async () => {
    const run = startCli(['serve', '--json'], { ...h.env, PORT: '0' });
    const ready = JSON.parse((await run.firstLine()) as string) as { listening: string };
    expect(ready).toMatchObject({
      ok: true,
      listening: expect.stringMatching(/^http:\/\/localhost:\d+$/),
    });
    expect(await run.stop()).toBe(0);
    expect(oneJsonLine(run.stdout())).toEqual(ready);
  });

  it('emulator prints one line once it listens', async () => {
    const run = startCli(
      ['emulator', '--json', '--port', '0', '--http-port', '0', '--data-dir', dataDir],
      h.env,
    );
    const ready = JSON.parse((await run.firstLine()) as string) as Record<string, unknown>;
    expect(ready).toMatchObject({ caFile: path.join(dataDir, 'emulator-ca.pem') });
    expect(await run.stop()).toBe(0);
    expect(oneJsonLine(run.stdout())).toEqual(ready);
  });

  it('a failure of any kind is the one line: config, usage, unreachable database', async () => {
    const cases: [string[], Record<string, string>, number, string][] = [
      [['feed', '--json'], { ...h.env, TZ: 'Nowhere/Town' }, 2, 'config.invalid'],
      [['feed', '--json', '--froce'], h.env, 2, 'usage.invalid'],
      [['feed', '--json'], { ...h.env, DATABASE_URL: 'postgres://u:pw@127.0.0.1:1/x' }, 4, 'db.unreachable'],
      [['--json', 'frobnicate'], h.env, 2, 'usage.invalid'],
      [['--json'], h.env, 2, 'usage.invalid'],
    ];
    for (const [argv, env, code, errorCode] of cases) {
      const run = await runCli(argv, env);
      expect(run.code, argv.join(' ')).toBe(code);
      expect(oneJsonLine(run.stdout), argv.join(' ')).toMatchObject({
        ok: false,
        error: { code: errorCode },
      });
    }
  });

  it('an unexpected failure is {"ok":false,"error":{"code":"internal"}}, exit 1, without URL credentials', async () => {
    const broken: CommandEntry = {
      name: 'broken',
      summary: 'fails like a bug would',
      load: async () => ({
        name: 'broken',
        summary: 'fails like a bug would',
        flags: {},
        async run(ctx) {
          ctx.out('a human line first');
          throw new TypeError('cannot read x of undefined at postgres://shop:hunter2@db/x');
        },
      }),
    };
    const run = await runCli(['broken', '--json'], { LOG_LEVEL: 'silent' }, { commands: [broken] });
    expect(run.code).toBe(1);
    expect(oneJsonLine(run.stdout)).toEqual({
      ok: false,
      error: {
        code: 'internal',
        message: 'unexpected failure: cannot read x of undefined at postgres://***@db/x',
      },
    });
    expect(run.stderr).toContain('a human line first\n');
    expect(run.stdout + run.stderr).not.toContain('hunter2');
  });

  it('a command that prints no JSON still gives one line: ok and the exit code', async () => {
    const quiet: CommandEntry = {
      name: 'quiet',
      summary: 'prints only human lines',
      load: async () => ({
        name: 'quiet',
        summary: 'prints only human lines',
        flags: {},
        run: async (ctx) => (ctx.out('done, nothing to report'), 3),
      }),
    };
    const run = await runCli(['quiet', '--json'], {}, { commands: [quiet] });
    expect(run.code).toBe(3);
    expect(oneJsonLine(run.stdout)).toEqual({ ok: false, exitCode: 3 });
    expect(run.stderr).toBe('done, nothing to report\n');
  });

  it('--version and --help answer in one line too', async () => {
    const v = await runCli(['--version', '--json'], {});
    expect(v.code).toBe(0);
    expect(oneJsonLine(v.stdout)).toEqual({ ok: true, version });
    const help = await runCli(['feed', '--help', '--json'], {});
    expect(help.code).toBe(0);
    expect(oneJsonLine(help.stdout)).toEqual({
      ok: true,
      command: 'feed',
      flags: ['dry-run', 'force', 'json', 'help'],
    });
  });
});
