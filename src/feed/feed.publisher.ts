import {
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
  mkdir,
  lstat,
  readlink,
} from 'node:fs/promises';
import path from 'node:path';
import {
  currentLink,
  FEED_FILES,
  readCurrentFeed,
  versionDir,
  versionsDir,
  type FeedManifest,
} from './feed.layout.ts';

export const TEMP_PREFIX = '.tmp-';

export type GateVerdict = { ok: true } | { ok: false; reason: string };

/**
 * The publish gate (design §6): never a feed without offers, and never one that loses more than
 * `maxDrop` of the offers published before, unless forced.
 */
export function publishGate(
  previousOffers: number | null,
  offers: number,
  maxDrop: number,
  force: boolean,
): GateVerdict {
  if (force) return { ok: true };
  if (offers === 0) return { ok: false, reason: 'the new feed has no offers' };
  if (previousOffers && previousOffers > 0) {
    const drop = (previousOffers - offers) / previousOffers;
    if (drop > maxDrop) {
      return {
        ok: false,
        reason: `the new feed has ${offers} offers, ${(drop * 100).toFixed(1)} % fewer than the ${previousOffers} published (FEED_MAX_DROP=${maxDrop})`,
      };
    }
  }
  return { ok: true };
}

/** Remove temporary directories left by runs that died (only called under the feed job lock). */
export async function sweepTemp(feedsDir: string): Promise<string[]> {
  const names = await readdir(feedsDir).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith(TEMP_PREFIX));
  await Promise.all(stale.map((n) => rm(path.join(feedsDir, n), { recursive: true, force: true })));
  return stale;
}

async function replaceSymlink(linkPath: string, target: string): Promise<void> {
  try {
    const st = await lstat(linkPath);
    if (st.isSymbolicLink() && (await readlink(linkPath)) === target) return;
  } catch {
    // does not exist yet
  }
  const tmp = `${linkPath}.${process.pid}.tmp`;
  await rm(tmp, { force: true });
  await symlink(target, tmp);
  // rename(2) over the old link is atomic: a reader sees the old or the new target, never none.
  await rename(tmp, linkPath);
}

/**
 * Move a checked temporary directory into versions/ and make it current atomically, then keep
 * only the newest `keep` versions (the current one is never removed). The manifest names the run
 * (`runId`) so that a later run can record the version if this one cannot. An aborted `signal`
 * (the job lock was lost: another instance may be publishing) stops it before the swap.
 */
export async function publishVersion(
  feedsDir: string,
  tmpDir: string,
  manifest: FeedManifest,
  keep: number,
  options: { runId?: number | null; signal?: AbortSignal } = {},
): Promise<FeedManifest> {
  if (options.runId !== undefined) manifest.runId = options.runId;
  await writeFile(path.join(tmpDir, FEED_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  await mkdir(versionsDir(feedsDir), { recursive: true });
  const target = versionDir(feedsDir, manifest.version);
  options.signal?.throwIfAborted();
  await rename(tmpDir, target);
  await replaceSymlink(currentLink(feedsDir), path.join('versions', manifest.version));
  for (const f of [FEED_FILES.xml, FEED_FILES.gz, FEED_FILES.report]) {
    await replaceSymlink(path.join(feedsDir, f), path.join('current', f));
  }
  await pruneVersions(feedsDir, manifest.version, keep);
  return manifest;
}

/** What a version directory is named (versionName); anything else is refused before touching a path. */
export const VERSION_NAME = /^\d{8}T\d{6}Z-[0-9a-f]{12}$/;

/**
 * Serve a kept version again (rollback, and forward again): the same atomic swap of `current` as
 * a publish. Null when `version` is not kept (never a path outside versions/). Call it under the
 * feed job lock, so that no publish swaps at the same time.
 */
export async function activateVersion(feedsDir: string, version: string): Promise<FeedManifest | null> {
  if (!VERSION_NAME.test(version)) return null;
  let manifest: FeedManifest;
  try {
    manifest = JSON.parse(
      await readFile(path.join(versionDir(feedsDir, version), FEED_FILES.manifest), 'utf8'),
    ) as FeedManifest;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  await replaceSymlink(currentLink(feedsDir), path.join('versions', version));
  for (const f of [FEED_FILES.xml, FEED_FILES.gz, FEED_FILES.report]) {
    await replaceSymlink(path.join(feedsDir, f), path.join('current', f));
  }
  return manifest;
}

export async function pruneVersions(feedsDir: string, current: string, keep: number): Promise<string[]> {
  const names = (await readdir(versionsDir(feedsDir)).catch(() => [] as string[])).sort();
  const old = names.filter((n) => n !== current).slice(0, Math.max(0, names.length - keep));
  await Promise.all(old.map((n) => rm(versionDir(feedsDir, n), { recursive: true, force: true })));
  return old;
}

/** Version directory names sort by time: 20261129T213500Z-<sha256 prefix>. */
export function versionName(at: Date, sha256: string): string {
  return `${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${sha256.slice(0, 12)}`;
}

/**
 * The name for a version published at `at` that no kept version has yet. The same bytes published
 * again within the same second (A, then B, then A) would get the name of the kept A: the next
 * free second is taken instead, so names stay unique and still sort by publish time.
 */
export async function freeVersionName(feedsDir: string, at: Date, sha256: string): Promise<string> {
  for (let s = 0; ; s++) {
    const name = versionName(new Date(at.getTime() + s * 1000), sha256);
    const taken = await stat(versionDir(feedsDir, name)).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    if (!taken) return name;
  }
}

export { readCurrentFeed };
