import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * On-disk layout of FEEDS_DIR: the contract between the publisher (writes) and the HTTP server
 * (reads).
 *
 *   FEEDS_DIR/
 *     versions/<version>/catalog.xml          one published version: never modified once there
 *     versions/<version>/catalog.xml.gz       same content, gzip
 *     versions/<version>/catalog.report.json  the run report of the run that produced it
 *     versions/<version>/manifest.json        FeedManifest (hashes, sizes, offers, times)
 *     current -> versions/<version>           relative symlink, swapped atomically by rename(2)
 *     catalog.xml -> current/catalog.xml      stable names for people and tools (design §5)
 *     catalog.xml.gz -> current/catalog.xml.gz
 *     catalog.report.json -> current/catalog.report.json
 *     .tmp-<run>/                             a run in progress (removed, or swept by the next run)
 *
 * A reader resolves `current` ONCE per request and reads every file from that version's
 * directory, so an .xml and a .gz of different versions are never mixed, and a file is never
 * seen half-written.
 */
export const FEED_FILES = {
  xml: 'catalog.xml',
  gz: 'catalog.xml.gz',
  report: 'catalog.report.json',
  manifest: 'manifest.json',
} as const;

export interface FeedManifest {
  version: string;
  /** sha256 (hex) of catalog.xml as served. */
  sha256: string;
  /** sha256 of catalog.xml.gz as served. */
  gzSha256: string;
  /** sha256 of catalog.xml after its header (the date): equal means the same catalog. */
  contentSha256: string;
  bytes: number;
  gzBytes: number;
  offers: number;
  categories: number;
  /** ISO 8601: when this version went live (Last-Modified). */
  publishedAt: string;
  /** The `yml_catalog date` attribute written into the file. */
  catalogDate: string;
  /** rr_sync.runs id of the run that published it (lets a later run repair the history). */
  runId?: number | null;
  /**
   * Which store catalog it was built from: `id` identifies the database cluster, database and
   * schema; `name` says it to a person. Absent in versions published before it was recorded.
   */
  catalog?: CatalogIdentity;
}

export interface CatalogIdentity {
  id: string;
  name: string;
}

export const versionsDir = (feedsDir: string) => path.join(feedsDir, 'versions');
export const versionDir = (feedsDir: string, version: string) => path.join(feedsDir, 'versions', version);
export const currentLink = (feedsDir: string) => path.join(feedsDir, 'current');

export interface CurrentFeed {
  dir: string;
  manifest: FeedManifest;
}

/** The currently published version, or null when nothing was published yet. */
export async function readCurrentFeed(feedsDir: string): Promise<CurrentFeed | null> {
  let target: string;
  try {
    target = await readlink(currentLink(feedsDir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const dir = path.resolve(feedsDir, target);
  const manifest = JSON.parse(await readFile(path.join(dir, FEED_FILES.manifest), 'utf8')) as FeedManifest;
  return { dir, manifest };
}

/** The kept versions' manifests, newest first (a directory without a readable manifest is skipped). */
export async function readKeptVersions(feedsDir: string): Promise<FeedManifest[]> {
  const names = (await readdir(versionsDir(feedsDir)).catch(() => [] as string[])).sort().reverse();
  const manifests = await Promise.all(
    names.map((n) =>
      readFile(path.join(versionDir(feedsDir, n), FEED_FILES.manifest), 'utf8').then(
        (text) => JSON.parse(text) as FeedManifest,
        () => null,
      ),
    ),
  );
  // Newest first by publish time: names sort by their second, then by a hash, so two versions
  // published within one second would otherwise come in hash order.
  return manifests
    .filter((m): m is FeedManifest => m !== null)
    .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt) || b.version.localeCompare(a.version));
}
