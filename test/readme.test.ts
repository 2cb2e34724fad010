import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { seedDemo } from '../src/demo/demo.seed.ts';
import { runFeedJob } from '../src/feed/feed.job.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

// Issue 10 §8: every code block of README.md runs as pasted, or says why not. The blocks are read
// from the README itself, so an edit that breaks an example breaks this test.

const ROOT = path.resolve(import.meta.dirname, '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const NOT_RUN = /^<!-- readme-test: not run: (.+) -->$/;

interface Block {
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** Why it is not run, from a `<!-- readme-test: not run: ... -->` line just above it. */
  notRun?: string;
}

function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const notRun = NOT_RUN.exec(lines[start - 1] ?? '')?.[1];
    blocks.push({
      lang: open[1]!,
      code: `${body.join('\n')}\n`,
      line: start + 1,
      ...(notRun ? { notRun } : {}),
    });
  }
  return blocks;
}

const blocks = codeBlocks(README);
/** Code this test runs; `text` blocks are sample output, not code. */
const runnable = (lang: string) => blocks.filter((b) => b.lang === lang && !b.notRun);

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of a user's shell: PATH and HOME, nothing of this test run's configuration. */
const shellEnv = (more: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  LOG_LEVEL: 'warn',
  ...more,
});

const temps: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(path.join(tmpdir(), 'rr-readme-'));
  temps.push(d);
  return d;
};
afterAll(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

describe('README code blocks', () => {
  it('are sql, ts, sh or text (sample output); those not run say why', () => {
    expect(blocks.length).toBeGreaterThan(5);
    for (const b of blocks) expect(['sql', 'ts', 'sh', 'text'], `block at line ${b.line}`).toContain(b.lang);
    // What this file runs: the shop's tables and the views, the own-store commands, the client.
    expect(runnable('sql')).toHaveLength(2);
    expect(runnable('sh')).toHaveLength(1);
    expect(runnable('ts')).toHaveLength(1);
    expect(blocks.filter((b) => b.notRun).map((b) => b.lang)).toEqual([
      'sh',
      'sh',
      'ts',
      'sh',
      'sh',
      'ts',
      'sh',
      'sh',
      'sh',
    ]);
  });
});

describe('the worked example: a shop schema mapped with views', () => {
  let db: TestDatabase;
  let feedsDir: string;
  beforeAll(async () => {
    db = await createTestDatabase();
    feedsDir = await tempDir();
  });
  afterAll(() => db?.drop());

  it('maps parents and variants without a warning and writes canonical prices', async () => {
    const [tables, views] = runnable('sql');
    await db.pool.query(tables!.code);
    // A small shop: a knife with two variants (10 the parent, 11 and 12 its variants), a single
    // item, prices in cents as the shop keeps them, two branches.
    await db.pool.query(`
      insert into shop.categories values (1, null, 'Kitchen'), (2, 1, 'Knives');
      insert into shop.branches values ('moscow', 'Moscow'), ('spb', 'Saint Petersburg');
      insert into shop.items values
        (10, 'CK-20', 'Chef knife', 'chef-knife', 'img/10.jpg', 4990, 5990, true, 'Smith', '<p>Sharp</p>', null),
        (11, 'CK-20-R', 'Chef knife, red', 'chef-knife-red', 'img/11.jpg', 990, 0, true, 'Smith', null, 10),
        (12, 'CK-20-B', 'Chef knife, black', 'chef-knife-black', 'img/12.jpg', 1000, null, false, 'Smith', null, 10),
        (20, 'SP-1', 'Sponge', 'sponge', 'img/20.jpg', 1050, 1200, true, 'Acme', 'Soft &amp; yellow', null);
      insert into shop.item_categories values (10, 2), (11, 2), (12, 2), (20, 1);
      insert into shop.branch_stock values (10, 'moscow', 3, 4590), (10, 'spb', 0, null), (20, 'moscow', 5, null);
    `);
    await db.pool.query(views!.code);

    const [commands] = runnable('sh');
    const res = await run('bash', ['-euo', 'pipefail', '-c', commands!.code], {
      cwd: ROOT,
      env: shellEnv({ DATABASE_URL: db.url, FEEDS_DIR: feedsDir }),
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^validate: 4 offers valid/m);
    expect(res.stdout).toMatch(/^dry run: would publish 4 offers/m);
    expect(res.stdout).toMatch(/^feed published: 4 offers/m);

    const report = JSON.parse(await readFile(path.join(feedsDir, 'catalog.report.json'), 'utf8'));
    expect(report.totals).toMatchObject({ offers: 4, errors: 0, warnings: 0 });
    expect(report.issues).toEqual([]);

    const xml = await readFile(path.join(feedsDir, 'catalog.xml'), 'utf8');
    const parser = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '@',
      parseTagValue: false,
      isArray: (n) => ['offer', 'stock'].includes(n),
    });
    const offers = parser.parse(xml).yml_catalog.shop.offers.offer as Record<string, unknown>[];
    expect(offers.map((o) => [o['@id'], o['@group_id'], o.price, o.oldprice])).toEqual([
      ['10', '10', '49.9', '59.9'],
      ['11', '10', '9.9', undefined],
      ['12', '10', '10', undefined],
      ['20', undefined, '10.5', '12'],
    ]);
    expect(offers[0]!.stock).toEqual([
      { '@id': 'moscow', available: 'true', price: '45.9' },
      { '@id': 'spb', available: 'false' },
    ]);
  }, 120_000);
});

describe('the client example against the demo store and the emulator', () => {
  let db: TestDatabase;
  let emulator: ChildProcess | undefined;
  let emulatorEnv: string[];
  let adminUrl: string;

  beforeAll(async () => {
    // What `npm start` does: the demo store of 10,000 products and its published feed.
    db = await createTestDatabase();
    await seedDemo(db.pool, { schema: 'store', products: 10_000 }, silentLogger);
    const feedsDir = await tempDir();
    const config = loadConfig({ DATABASE_URL: db.url, FEEDS_DIR: feedsDir });
    const summary = await runFeedJob({ catalog: db.pool, state: db.pool, config, logger: silentLogger });
    expect(summary.status).toBe('published');

    // `npx rr-sync emulator`, on free ports; it prints the lines to paste into .env.
    const dataDir = await tempDir();
    emulator = spawn(
      process.execPath,
      ['src/cli/rr-sync.js', 'emulator', '--port', '0', '--http-port', '0', '--json', '--data-dir', dataDir],
      { cwd: ROOT, env: shellEnv({ LOG_LEVEL: 'silent' }), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [first] = (await once(createInterface({ input: emulator.stdout! }), 'line')) as [string];
    const started = JSON.parse(first) as { ok: boolean; httpUrl: string; env: string[] };
    expect(started.ok).toBe(true);
    emulatorEnv = started.env;
    adminUrl = `${started.httpUrl}/__emulator/`;
    // What --feed-url does on a schedule: import the published feed (the .gz: 9 MB of XML is over
    // the emulator's body limit).
    const imported = await fetch(`${adminUrl}feed`, {
      method: 'POST',
      headers: { 'content-type': 'application/gzip' },
      body: await readFile(path.join(feedsDir, 'catalog.xml.gz')),
    });
    expect(imported.status).toBe(200);
  }, 120_000);

  afterAll(async () => {
    if (emulator && emulator.exitCode === null) {
      emulator.kill('SIGTERM');
      await once(emulator, 'exit');
    }
    await db?.drop();
  });

  /** The ts block saved as client-example.ts beside a .env, run with tsx. */
  async function runExample(extraEnvLines: string[]) {
    const dir = await tempDir();
    const [block] = runnable('ts');
    // The example sits in the checkout and imports ./src/...; here it sits beside its own .env.
    const code = block!.code.replaceAll("from './src/", `from '${ROOT}/src/`);
    await writeFile(path.join(dir, 'client-example.ts'), code);
    // The checkout's package.json says "type": "module" (top-level await needs ESM).
    await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    // RR_TIMEOUT_MS: the suite shares two cores with other work, and a call past the default 500 ms
    // would (rightly) fall back; the deadline itself is tested in test/rr/rr.transport.test.ts.
    const lines = [...emulatorEnv, 'RR_TIMEOUT_MS=5000', ...extraEnvLines, ''];
    await writeFile(path.join(dir, '.env'), lines.join('\n'));
    return run(path.join(ROOT, 'node_modules/.bin/tsx'), ['client-example.ts'], {
      cwd: dir,
      env: shellEnv({ LOG_LEVEL: 'warn' }),
    });
  }

  it('runs as pasted with RR_RECS_CACHE=off: the order shows in related, every answer fresh', async () => {
    const res = await runExample(['RR_RECS_CACHE=off']);
    expect(res.stderr, res.stdout).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toContain('related: [ 100004 ] cached: false');
    expect(lines).toContain('again: [ 100004 ] cached: false');
    expect(lines).toContain('item: 100004 File box pack of 10, purple 499.19');
    expect(lines).toContain('upsert: ok');
    expect(lines).toContain('batch: 2 events sent');

    const events = (await (await fetch(`${adminUrl}events?sessionExternalId=visitor-42`)).json()) as {
      events: { type: string }[];
    };
    expect(events.events.map((e) => e.type).sort()).toEqual(['order', 'order', 'view']);
    const upserts = (await (await fetch(`${adminUrl}upserts?id=100003`)).json()) as {
      upserts: { stockId: string; body: { price: number } }[];
    };
    expect(upserts.upserts.map((u) => [u.stockId, u.body.price])).toEqual([['moscow', 99.9]]);
  }, 120_000);

  it('answers the repeat from the client cache by default (cached: true)', async () => {
    const res = await runExample([]);
    expect(res.stderr, res.stdout).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('related: [ 100004 ] cached: false');
    expect(res.stdout).toContain('again: [ 100004 ] cached: true');
  }, 120_000);
});
