import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { currentLink, FEED_FILES, versionDir, type FeedManifest } from '../../src/feed/feed.layout.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export interface PublishedVersion {
  manifest: FeedManifest;
  xml: Buffer;
  gz: Buffer;
  report: Buffer;
}

/** A FEEDS_DIR laid out as src/feed/feed.layout.ts documents, written by the test itself. */
export async function makeFeedsDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rr-feeds-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A small but valid-looking YML catalog; `padOffers` makes it as large as a test needs. */
export function catalogXml(tag: string, padOffers = 2): string {
  const offers = Array.from(
    { length: padOffers },
    (_, i) =>
      `<offer id="${i + 1}" available="true"><name>${tag} product ${i + 1}</name><price>${i + 10}</price></offer>`,
  ).join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<yml_catalog date="2026-11-29T00:00:00Z"><shop><offers>\n${offers}\n</offers></shop></yml_catalog>\n`;
}

/** Write versions/<version>/ (xml, gz, report, manifest); it is not live until `makeCurrent`. */
export async function writeVersion(
  feedsDir: string,
  version: string,
  xmlText: string,
  publishedAt: Date,
): Promise<PublishedVersion> {
  const dir = versionDir(feedsDir, version);
  await mkdir(dir, { recursive: true });
  const xml = Buffer.from(xmlText, 'utf8');
  const gz = gzipSync(xml);
  const report = Buffer.from(JSON.stringify({ version, ok: true, rejected: [] }));
  const offers = (xmlText.match(/<offer /g) ?? []).length;
  const manifest: FeedManifest = {
    version,
    sha256: sha256(xml),
    gzSha256: sha256(gz),
    contentSha256: sha256(xmlText.slice(xmlText.indexOf('<shop>'))),
    bytes: xml.length,
    gzBytes: gz.length,
    offers,
    categories: 0,
    publishedAt: publishedAt.toISOString(),
    catalogDate: '2026-11-29T00:00:00Z',
  };
  await writeFile(path.join(dir, FEED_FILES.xml), xml);
  await writeFile(path.join(dir, FEED_FILES.gz), gz);
  await writeFile(path.join(dir, FEED_FILES.report), report);
  await writeFile(path.join(dir, FEED_FILES.manifest), JSON.stringify(manifest));
  return { manifest, xml, gz, report };
}

/** Point `current` at a version the way the publisher does: new symlink, then rename(2) over. */
export async function makeCurrent(feedsDir: string, version: string): Promise<void> {
  const tmp = path.join(feedsDir, `.current-${version}-${process.pid}`);
  await symlink(path.join('versions', version), tmp);
  await rename(tmp, currentLink(feedsDir));
}

export async function publish(
  feedsDir: string,
  version: string,
  xmlText: string,
  publishedAt: Date,
): Promise<PublishedVersion> {
  const v = await writeVersion(feedsDir, version, xmlText, publishedAt);
  await makeCurrent(feedsDir, version);
  return v;
}
