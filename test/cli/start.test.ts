import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/cli/command.ts';
import { startCommand } from '../../src/cli/commands/start.command.ts';
import { loadConfig } from '../../src/config.ts';
import { currentLink } from '../../src/feed/feed.layout.ts';
import { AppError } from '../../src/shared/errors.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
let feedsDir: string;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await db?.drop();
});
beforeEach(async () => {
  feedsDir = await mkdtemp(path.join(os.tmpdir(), 'rr-start-feeds-'));
});
afterEach(async () => {
  await rm(feedsDir, { recursive: true, force: true });
});

function context(env: Record<string, string>, flags: CommandContext['flags'] = {}) {
  const out: string[] = [];
  const controller = new AbortController();
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  /** Resolves once a printed line matches (the command's own progress, not a timer). */
  const printed = (re: RegExp) =>
    new Promise<void>((resolve) => {
      if (out.some((l) => re.test(l))) resolve();
      else waiters.push({ re, resolve });
    });
  const ctx: CommandContext = {
    flags,
    positionals: [],
    env: {},
    config: loadConfig({ DATABASE_URL: db.url, FEEDS_DIR: feedsDir, PORT: '0', ...env }),
    logger: silentLogger,
    json: false,
    out: (line) => {
      out.push(line);
      for (const w of waiters) if (w.re.test(line)) w.resolve();
    },
    signal: controller.signal,
  };
  return { ctx, out, controller, printed };
}

async function schemas(): Promise<string[]> {
  const { rows } = await db.pool.query<{ nspname: string }>(
    "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname not in ('information_schema', 'public') order by 1",
  );
  return rows.map((r) => r.nspname);
}

async function published(): Promise<boolean> {
  return lstat(currentLink(feedsDir)).then(
    () => true,
    () => false,
  );
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('rr-sync start', () => {
  it('with PORT taken fails with config.invalid (exit 2) before it migrates, seeds or publishes anything', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen({ port: 0 }, r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const { ctx, out } = context({ PORT: String(port) }, { demo: true });
      const err = await failure(startCommand.run(ctx));
      expect(err.code).toBe('config.invalid');
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`PORT: ${port} is already in use; choose another PORT.`);
      expect(out).toEqual([]);
      expect(await schemas()).toEqual([]);
      expect(await published()).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('on a real DATABASE_URL never seeds the demo: a missing relation is catalog.relation_missing (exit 2) and nothing is published', async () => {
    const { ctx, out } = context({ CATALOG_SCHEMA: 'stroe' });
    const err = await failure(startCommand.run(ctx));
    expect(err.code).toBe('catalog.relation_missing');
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('stroe');
    expect(out.some((l) => l.includes('seeding'))).toBe(false);
    expect(await schemas()).toEqual(['rr_sync']);
    expect(await published()).toBe(false);
  });

  it('with --demo seeds the demo store into a real database, publishes it and serves it until the signal', async () => {
    const { ctx, out, controller, printed } = context({ CATALOG_SCHEMA: 'demo_store' }, { demo: true });
    const run = startCommand.run(ctx);
    // A failed run rejects here instead of leaving the wait hanging.
    await Promise.race([printed(/^serving /m), run]);
    expect(out[0]).toBe('no demo_store.products relation: seeding the demo store (10000 products)');
    const feedUrl = /feed URL for Retail Rocket: (\S+)/.exec(out.join('\n'))?.[1];
    expect(feedUrl).toMatch(/^http:\/\/localhost:\d+\/feeds\/catalog\.xml$/);
    const offers = Number(/feed published: (\d+) offers/.exec(out.join('\n'))?.[1]);
    const res = await fetch(feedUrl!);
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.match(/<offer /g)?.length).toBe(offers);
    expect(offers).toBe(10004);
    controller.abort();
    expect(await run).toBe(0);
    expect(await schemas()).toEqual(['demo_store', 'rr_sync']);
    expect(await readdir(feedsDir)).toContain('current');
  }, 180_000);
});
