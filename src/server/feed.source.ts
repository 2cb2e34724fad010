import { readlink } from 'node:fs/promises';
import path from 'node:path';
import { currentLink, readCurrentFeed, type CurrentFeed, type FeedManifest } from '../feed/feed.layout.ts';

export interface FeedSource {
  /** The published version as of now (one readlink), or null before the first publish. */
  current(): Promise<CurrentFeed | null>;
}

const CACHED_VERSIONS = 8;

/**
 * Resolves `current` with one readlink per call and keeps manifests per version directory:
 * a version directory is never modified once published, so its manifest can be cached.
 */
export function createFeedSource(feedsDir: string): FeedSource {
  const manifests = new Map<string, FeedManifest>();
  return {
    async current() {
      let target: string;
      try {
        target = await readlink(currentLink(feedsDir));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
      const dir = path.resolve(feedsDir, target);
      const cached = manifests.get(dir);
      if (cached) return { dir, manifest: cached };
      // readCurrentFeed resolves the link again: if it was swapped meanwhile we get the newer
      // version, still as one consistent pair of directory and manifest.
      const fresh = await readCurrentFeed(feedsDir);
      if (!fresh) return null;
      manifests.set(fresh.dir, fresh.manifest);
      if (manifests.size > CACHED_VERSIONS) manifests.delete(manifests.keys().next().value as string);
      return fresh;
    },
  };
}
