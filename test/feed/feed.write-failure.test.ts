import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asFeedWriteFailure, feedWriteFailure, FeedWriter } from '../../src/feed/feed.writer.ts';
import { AppError } from '../../src/shared/errors.ts';
import { oneJsonLine } from '../cli/cli.run.ts';
import { createFeedHarness, products, readPublished, runCli, type FeedHarness } from './feed.harness.ts';
import { createStore } from './store.fixture.ts';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'rr-write-fail-'));
});
afterAll(() => rm(base, { recursive: true, force: true }));

/** Fill a writer with `mb` MiB of text and close it; resolves to what it threw. */
async function writeAndClose(writer: FeedWriter, mb: number): Promise<unknown> {
  try {
    const line = `<offer>${'x'.repeat(1000)}</offer>\n`;
    for (let i = 0; i < mb * 1024; i++) await writer.write(line);
    await writer.close();
    return null;
  } catch (err) {
    writer.abort();
    return err;
  }
}

describe('FeedWriter on a failing disk', () => {
  // /dev/full answers every write with ENOSPC: a real full disk, no privileges needed.
  it.skipIf(!existsSync('/dev/full'))(
    'a full disk under catalog.xml is feed.write_failed naming FEEDS_DIR',
    async () => {
      const feedsDir = path.join(base, 'full-xml');
      const tmp = path.join(feedsDir, '.tmp-1');
      await mkdir(tmp, { recursive: true });
      await symlink('/dev/full', path.join(tmp, 'catalog.xml'));
      const err = await writeAndClose(new FeedWriter(tmp), 3);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('feed.write_failed');
      expect((err as AppError).message).toBe(
        `Writing the feed in FEEDS_DIR ${feedsDir} failed: the disk is full (ENOSPC). The published feed was not changed; free space or fix the directory's permissions, then run again.`,
      );
    },
  );

  it.skipIf(!existsSync('/dev/full'))('a full disk under catalog.xml.gz is the same error', async () => {
    const feedsDir = path.join(base, 'full-gz');
    const tmp = path.join(feedsDir, '.tmp-1');
    await mkdir(tmp, { recursive: true });
    await symlink('/dev/full', path.join(tmp, 'catalog.xml.gz'));
    const err = await writeAndClose(new FeedWriter(tmp), 3);
    expect((err as AppError).code).toBe('feed.write_failed');
    expect((err as AppError).message).toContain(`FEEDS_DIR ${feedsDir} failed: the disk is full (ENOSPC)`);
  });

  it('a directory it may not write is feed.write_failed (injected EACCES: root ignores modes)', async () => {
    const feedsDir = path.join(base, 'denied');
    const denied = Object.assign(new Error(`EACCES: permission denied, mkdir '${feedsDir}/.tmp-9'`), {
      code: 'EACCES',
      path: `${feedsDir}/.tmp-9`,
    });
    const mapped = asFeedWriteFailure(denied, feedsDir) as AppError;
    expect(mapped.code).toBe('feed.write_failed');
    expect(mapped.exitCode).toBe(1);
    expect(mapped.message).toMatch(
      new RegExp(
        `^Writing the feed in FEEDS_DIR ${feedsDir} failed: permission denied \\(EACCES on .tmp-9\\)\\.`,
      ),
    );
    expect(mapped.details).toEqual({ feedsDir, errno: 'EACCES' });
    // Elsewhere, or not a write failure: left as it is.
    const outside = Object.assign(new Error('EACCES'), { code: 'EACCES', path: '/etc/x' });
    expect(asFeedWriteFailure(outside, feedsDir)).toBe(outside);
    const other = Object.assign(new Error('ENOENT'), { code: 'ENOENT', path: `${feedsDir}/x` });
    expect(asFeedWriteFailure(other, feedsDir)).toBe(other);
    expect(feedWriteFailure(new Error('odd'), feedsDir).message).toContain('failed: odd.');
  });
});

/** Mount a tmpfs (root only, as in CI); null when this machine does not allow it. */
function mountTmpfs(dir: string, options: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? err).trim();
  }
}
const umount = (dir: string) => {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // not mounted
  }
};

describe('rr-sync feed on a real small or read-only file system', () => {
  let h: FeedHarness;
  const mounts: string[] = [];
  beforeAll(async () => {
    h = await createFeedHarness();
    await createStore(h.db.pool, { products: products(400) });
  });
  afterAll(async () => {
    for (const m of mounts) umount(m);
    await h?.close();
  });

  it('a full disk: exit 1, feed.write_failed naming FEEDS_DIR, nothing published, no temporary files', async (ctx) => {
    const dir = await mkdtemp(path.join(base, 'tiny-'));
    const why = mountTmpfs(dir, 'size=64k');
    if (why !== null) return ctx.skip(`cannot mount a 64 KiB tmpfs here (needs root): ${why}`);
    mounts.push(dir);
    const run = await runCli(['feed', '--json'], { ...h.env, FEEDS_DIR: dir });
    expect(run.code).toBe(1);
    const out = oneJsonLine(run.stdout) as { error: { code: string; message: string } };
    expect(out).toMatchObject({ ok: false, error: { code: 'feed.write_failed' } });
    expect(out.error.message).toMatch(
      new RegExp(`^Writing the feed in FEEDS_DIR ${dir} failed: the disk is full`),
    );
    expect(await readPublished(dir)).toBeNull();
    expect((await readdir(dir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('a read-only FEEDS_DIR: exit 1, feed.write_failed, the published feed stays as it was', async (ctx) => {
    const dir = await mkdtemp(path.join(base, 'ro-'));
    const why = mountTmpfs(dir, 'size=4m');
    if (why !== null) return ctx.skip(`cannot mount a tmpfs here (needs root): ${why}`);
    mounts.push(dir);
    expect((await runCli(['feed'], { ...h.env, FEEDS_DIR: dir })).code).toBe(0);
    const before = await readPublished(dir);
    expect(before?.manifest.offers).toBe(400);
    const ro = mountTmpfs(dir, 'remount,ro');
    if (ro !== null) return ctx.skip(`cannot remount read-only: ${ro}`);
    await createStore(h.db.pool, { products: products(401) });
    const run = await runCli(['feed', '--json'], { ...h.env, FEEDS_DIR: dir });
    expect(run.code).toBe(1);
    const out = oneJsonLine(run.stdout) as { error: { code: string; message: string } };
    expect(out.error.code).toBe('feed.write_failed');
    expect(out.error.message).toMatch(
      new RegExp(`^Writing the feed in FEEDS_DIR ${dir} failed: the file system is read-only`),
    );
    expect(await readPublished(dir)).toEqual(before);
  });

  it('a FEEDS_DIR under a regular file: exit 2, config.invalid naming FEEDS_DIR', async () => {
    const file = path.join(base, 'plain-file');
    await writeFile(file, 'x');
    const run = await runCli(['feed', '--json'], { ...h.env, FEEDS_DIR: path.join(file, 'feeds') });
    expect(run.code).toBe(2);
    expect(oneJsonLine(run.stdout)).toMatchObject({
      ok: false,
      error: { code: 'config.invalid', details: { variables: ['FEEDS_DIR'] } },
    });
  });
});
