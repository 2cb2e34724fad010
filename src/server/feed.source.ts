import { readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  currentLink,
  FEED_FILES,
  readCurrentFeed,
  type CurrentFeed,
  type FeedManifest,
} from '../feed/feed.layout.ts';

export interface FeedSource {
  /** The published version as of now (one readlink), or null before the first publish. */
  current(): Promise<CurrentFeed | null>;
}

const CACHED_VERSIONS = 8;

/**
 * Resolves `current` with one readlink per call and caches each version's manifest: a version
 * directory is never modified once published. The key includes the manifest's inode and mtime,
 * so a version name reused after a sweep (or a hand-made rollback) is read afresh.
 */
export function createFeedSource(feedsDir: string): FeedSource {
  const manifests = new Map<string, FeedManifest>();
  return {
    async current() {
      let dir: string;
      let key: string;
      try {
        dir = path.resolve(feedsDir, await readlink(currentLink(feedsDir)));
        const st = await stat(path.join(dir, FEED_FILES.manifest), { bigint: true });
        key = `${dir}\0${st.ino}\0${st.mtimeNs}\0${st.size}`;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // No link yet, or the version just vanished (swapped and swept): read it the slow way.
        if (code === 'ENOENT') return readCurrentFeed(feedsDir);
        throw err;
      }
      const cached = manifests.get(key);
      if (cached) return { dir, manifest: cached };
      const fresh = await readCurrentFeed(feedsDir);
      // readCurrentFeed resolves the link again; cache only if it still names the version we keyed.
      if (fresh && fresh.dir === dir) {
        manifests.set(key, fresh.manifest);
        if (manifests.size > CACHED_VERSIONS) manifests.delete(manifests.keys().next().value as string);
      }
      return fresh;
    },
  };
}
