import http from 'node:http';
import { rm } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { versionDir } from '../../src/feed/feed.layout.ts';
import { silentLogger } from '../../src/shared/logger.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer } from '../../src/server/server.ts';
import { catalogXml, makeCurrent, makeFeedsDir, publish, writeVersion } from './feeds-dir.fixture.ts';
import { request } from './http.fixture.ts';

let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let server: AppServer;
const t1 = new Date('2026-11-28T02:00:00.000Z');
const t2 = new Date('2026-11-29T02:00:00.000Z');

beforeEach(async () => {
  feeds = await makeFeedsDir();
  server = await startApp(
    { config: loadConfig({ FEEDS_DIR: feeds.dir }), logger: silentLogger },
    { port: 0, host: '127.0.0.1' },
  );
});
afterEach(async () => {
  await server.close();
  await feeds.remove();
});

const xmlUrl = () => `${server.url}/feeds/catalog.xml`;

describe('feed routes', () => {
  it('answers 503 with a JSON explanation before anything was published', async () => {
    for (const p of ['catalog.xml', 'catalog.xml.gz', 'catalog.report.json']) {
      const res = await request(`${server.url}/feeds/${p}`);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body.toString()).error.code).toBe('feed.not_published');
    }
  });

  it('serves catalog.xml with a strong ETag from its sha256, Last-Modified, length and no-cache', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const res = await request(xmlUrl());
    expect(res.status).toBe(200);
    expect(res.body.equals(v1.xml)).toBe(true);
    expect(res.headers.etag).toBe(`"${v1.manifest.sha256}"`);
    expect(res.headers['last-modified']).toBe(t1.toUTCString());
    expect(res.headers['content-length']).toBe(String(v1.xml.length));
    expect(res.headers['content-type']).toBe('application/xml; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.headers['content-encoding']).toBeUndefined();
  });

  it('answers 304 without a body when If-None-Match names the current ETag, also in a list or weak', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const etag = `"${v1.manifest.sha256}"`;
    for (const inm of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const res = await request(xmlUrl(), { headers: { 'if-none-match': inm } });
      expect(res.status, inm).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers.vary).toBe('Accept-Encoding');
    }
    const stale = await request(xmlUrl(), { headers: { 'if-none-match': '"other"' } });
    expect(stale.status).toBe(200);
  });

  it('answers 304 on If-Modified-Since at or after Last-Modified, 200 before it', async () => {
    await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const same = await request(xmlUrl(), { headers: { 'if-modified-since': t1.toUTCString() } });
    expect(same.status).toBe(304);
    const later = await request(xmlUrl(), {
      headers: { 'if-modified-since': new Date(t1.getTime() + 60_000).toUTCString() },
    });
    expect(later.status).toBe(304);
    const earlier = await request(xmlUrl(), {
      headers: { 'if-modified-since': new Date(t1.getTime() - 1000).toUTCString() },
    });
    expect(earlier.status).toBe(200);
    const garbage = await request(xmlUrl(), { headers: { 'if-modified-since': 'yesterday' } });
    expect(garbage.status).toBe(200);
  });

  it('lets If-None-Match decide over If-Modified-Since', async () => {
    await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const res = await request(xmlUrl(), {
      headers: { 'if-none-match': '"old"', 'if-modified-since': t2.toUTCString() },
    });
    expect(res.status).toBe(200);
  });

  it('answers 200 with the new version and a new ETag once current is switched', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const first = await request(xmlUrl());
    const v2 = await publish(feeds.dir, 'v2', catalogXml('two', 3), t2);
    const res = await request(xmlUrl(), {
      headers: { 'if-none-match': first.headers.etag!, 'if-modified-since': first.headers['last-modified']! },
    });
    expect(res.status).toBe(200);
    expect(res.body.equals(v2.xml)).toBe(true);
    expect(res.headers.etag).toBe(`"${v2.manifest.sha256}"`);
    expect(res.headers.etag).not.toBe(`"${v1.manifest.sha256}"`);
    expect(res.headers['last-modified']).toBe(t2.toUTCString());
    // and back: a rollback is served just as well
    await makeCurrent(feeds.dir, 'v1');
    expect((await request(xmlUrl())).body.equals(v1.xml)).toBe(true);
  });

  it('reads a version afresh when its directory was replaced under the same name', async () => {
    await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    expect((await request(xmlUrl())).body.toString()).toContain('one product');
    await rm(versionDir(feeds.dir, 'v1'), { recursive: true });
    const redo = await writeVersion(feeds.dir, 'v1', catalogXml('redo', 3), t2);
    const res = await request(xmlUrl());
    expect(res.body.equals(redo.xml)).toBe(true);
    expect(res.headers.etag).toBe(`"${redo.manifest.sha256}"`);
    expect(res.headers['last-modified']).toBe(t2.toUTCString());
  });

  it('sends the published .gz bytes with Content-Encoding gzip to clients that accept gzip', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one', 50), t1);
    for (const ae of ['gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.5', '*', 'X-GZIP']) {
      const res = await request(xmlUrl(), { headers: { 'accept-encoding': ae } });
      expect(res.status, ae).toBe(200);
      expect(res.headers['content-encoding'], ae).toBe('gzip');
      expect(res.headers.vary).toBe('Accept-Encoding');
      expect(res.headers.etag).toBe(`"${v1.manifest.gzSha256}"`);
      expect(res.headers['content-length']).toBe(String(v1.gz.length));
      expect(res.body.equals(v1.gz)).toBe(true);
      expect(gunzipSync(res.body).equals(v1.xml)).toBe(true);
    }
    const reval = await request(xmlUrl(), {
      headers: { 'accept-encoding': 'gzip', 'if-none-match': `"${v1.manifest.gzSha256}"` },
    });
    expect(reval.status).toBe(304);
  });

  it('sends plain XML to clients that refuse gzip or only take identity', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    for (const ae of ['identity', 'gzip;q=0', 'deflate, gzip; q=0.000', '*;q=0', '', 'br, *;q=0']) {
      const res = await request(xmlUrl(), { headers: { 'accept-encoding': ae } });
      expect(res.headers['content-encoding'], ae).toBeUndefined();
      expect(res.body.equals(v1.xml), ae).toBe(true);
      expect(res.headers.etag).toBe(`"${v1.manifest.sha256}"`);
    }
  });

  it('answers HEAD with the same headers as GET and no body', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    for (const ae of ['identity', 'gzip']) {
      const get = await request(xmlUrl(), { headers: { 'accept-encoding': ae } });
      const head = await request(xmlUrl(), { method: 'HEAD', headers: { 'accept-encoding': ae } });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      for (const h of ['etag', 'last-modified', 'content-length', 'content-type', 'content-encoding', 'vary'])
        expect(head.headers[h], `${ae} ${h}`).toBe(get.headers[h]);
    }
    const head = await request(`${server.url}/feeds/catalog.xml.gz`, { method: 'HEAD' });
    expect(head.headers['content-length']).toBe(String(v1.gz.length));
  });

  it('serves catalog.xml.gz directly as application/gzip with its own ETag', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const res = await request(`${server.url}/feeds/catalog.xml.gz`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/gzip');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers.etag).toBe(`"${v1.manifest.gzSha256}"`);
    expect(gunzipSync(res.body).equals(v1.xml)).toBe(true);
    const again = await request(`${server.url}/feeds/catalog.xml.gz`, {
      headers: { 'if-none-match': res.headers.etag! },
    });
    expect(again.status).toBe(304);
  });

  it('serves the run report of the current version as JSON, revalidatable', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one'), t1);
    const res = await request(`${server.url}/feeds/catalog.report.json`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body.equals(v1.report)).toBe(true);
    const again = await request(`${server.url}/feeds/catalog.report.json`, {
      headers: { 'if-none-match': res.headers.etag! },
    });
    expect(again.status).toBe(304);
    await publish(feeds.dir, 'v2', catalogXml('two'), t2);
    const next = await request(`${server.url}/feeds/catalog.report.json`, {
      headers: { 'if-none-match': res.headers.etag! },
    });
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body.toString()).version).toBe('v2');
  });

  it('finishes a download in progress with the old version when current is swapped and the old one deleted', async () => {
    // Big enough that the socket and stream buffers cannot hold it all before we pause.
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one', 40_000), t1);
    await writeVersion(feeds.dir, 'v2', catalogXml('two', 5), t2);
    expect(v1.xml.length).toBeGreaterThan(3_000_000);

    const { headers, body } = await new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>(
      (resolve, reject) => {
        const req = http.get(xmlUrl(), { agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let swapped = false;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            if (swapped) return;
            swapped = true;
            res.pause();
            void makeCurrent(feeds.dir, 'v2')
              .then(() => rm(versionDir(feeds.dir, 'v1'), { recursive: true }))
              .then(() => res.resume(), reject);
          });
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
      },
    );
    expect(headers.etag).toBe(`"${v1.manifest.sha256}"`);
    expect(body.length).toBe(v1.xml.length);
    expect(body.equals(v1.xml)).toBe(true);
    // the next request sees the new version
    expect((await request(xmlUrl())).body.toString()).toContain('two product 1');
  });
});
