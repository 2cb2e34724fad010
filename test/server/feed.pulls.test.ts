import { execFile } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { FeedPull } from '../../src/server/feed.pulls.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer } from '../../src/server/server.ts';
import { catalogXml, makeFeedsDir, publish } from './feeds-dir.fixture.ts';
import { captureLogger, request, type CapturedLog } from './http.fixture.ts';

let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let server: AppServer | undefined;
let capture: ReturnType<typeof captureLogger>;

beforeEach(async () => {
  feeds = await makeFeedsDir();
  capture = captureLogger();
});
afterEach(async () => {
  await server?.close({ timeoutMs: 1000 });
  server = undefined;
  await feeds.remove();
});

const start = async (env: Record<string, string> = {}) => {
  server = await startApp(
    { config: loadConfig({ FEEDS_DIR: feeds.dir, ...env }), logger: capture.logger },
    { port: 0, host: '127.0.0.1' },
  );
  return server;
};
const feedLines = () => capture.lines.filter((l) => l.msg === 'feed request');
const lastPulls = async (s: AppServer): Promise<FeedPull[]> =>
  JSON.parse((await request(`${s.url}/healthz`)).body.toString()).lastPulls;

/**
 * HTTP/1.1 GETs from another process, each hanging up the moment it has the last byte of the
 * body (as curl does when it exits): the hang-up races the server's own end of the response.
 */
const CLIENT = `
const net = require('node:net');
const [port, n] = process.argv.slice(1).map(Number);
const get = (i) => new Promise((resolve, reject) => {
  const sock = net.connect(port, '127.0.0.1', () =>
    sock.write('GET /feeds/catalog.xml HTTP/1.1\\r\\nHost: feed\\r\\nUser-Agent: client-' + i + '\\r\\n\\r\\n'));
  let buf = Buffer.alloc(0);
  let need = -1;
  sock.on('data', (c) => {
    buf = Buffer.concat([buf, c]);
    if (need < 0) {
      const h = buf.indexOf('\\r\\n\\r\\n');
      if (h < 0) return;
      need = h + 4 + Number(/content-length: (\\d+)/i.exec(buf.subarray(0, h).toString())[1]);
    }
    if (buf.length >= need) { sock.destroy(); resolve(buf.length - (need - Number(/content-length: (\\d+)/i.exec(buf.toString('latin1', 0, 400))[1]))); }
  });
  sock.on('error', reject);
});
Promise.all(Array.from({ length: n }, (_, i) => get(i))).then((bodies) => console.log(JSON.stringify(bodies)));
`;

/**
 * Keeps the libuv thread pool (file reads run there) busy, so a file read waits a little as it
 * would on a loaded machine: that is the window in which the bug showed.
 */
function busyThreadPool(): () => void {
  let busy = true;
  const spin = () => {
    if (busy) pbkdf2('x', 'y', 50_000, 32, 'sha256', spin);
  };
  for (let i = 0; i < 4; i++) spin();
  return () => (busy = false);
}

describe('feed pull history', () => {
  it('logs and records 2 x 30 concurrent complete downloads as 200 with the client address', async () => {
    const v1 = await publish(feeds.dir, 'v1', catalogXml('one', 3), new Date());
    const s = await start();
    const stop = busyThreadPool();
    const bodies: number[] = [];
    try {
      for (let round = 0; round < 2; round++) {
        const { stdout } = await promisify(execFile)(process.execPath, ['-e', CLIENT, String(s.port), '30']);
        bodies.push(...(JSON.parse(stdout) as number[]));
      }
    } finally {
      stop();
    }
    expect(bodies).toEqual(Array.from({ length: 60 }, () => v1.xml.length));
    await capture.waitFor(() => feedLines().length === 60);
    const outcomes = feedLines().map((l) => [
      l.obj.status,
      l.obj.remoteAddress,
      l.obj.bytes,
      l.obj.interrupted,
    ]);
    expect(outcomes).toEqual(Array.from({ length: 60 }, () => [200, '127.0.0.1', v1.xml.length, undefined]));
    const pulls = await lastPulls(s);
    expect(pulls).toHaveLength(20); // the registry keeps the last 20 user agents
    for (const p of pulls)
      expect(p).toMatchObject({
        status: 200,
        remoteAddress: '127.0.0.1',
        bytes: v1.xml.length,
        version: 'v1',
      });
    expect(pulls.some((p) => 'interrupted' in p)).toBe(false);
  });

  it('records a client that hangs up mid-download as interrupted (499)', async () => {
    // 16 MiB: more than the socket buffers can take, so the server is still sending when it goes.
    const big = await publish(feeds.dir, 'big', catalogXml('big', 180_000), new Date());
    expect(big.xml.length).toBeGreaterThan(16_000_000);
    const s = await start();
    for (const agent of ['leaver-1', 'leaver-2']) {
      const sock = net.connect(s.port, '127.0.0.1', () =>
        sock.write(`GET /feeds/catalog.xml HTTP/1.1\r\nHost: feed\r\nUser-Agent: ${agent}\r\n\r\n`),
      );
      sock.on('error', () => undefined);
      await new Promise<void>((resolve) =>
        sock.once('data', () => {
          sock.destroy();
          resolve();
        }),
      );
    }
    const isLeaver = (l: CapturedLog) =>
      l.msg === 'feed request' && String(l.obj.userAgent).startsWith('leaver');
    await capture.waitFor(() => capture.lines.filter(isLeaver).length === 2);
    for (const line of capture.lines.filter(isLeaver)) {
      expect(line.obj).toMatchObject({ status: 499, remoteAddress: '127.0.0.1' });
      expect(line.obj.interrupted).toEqual(expect.any(String));
      expect(line.obj.bytes).toBeLessThan(big.xml.length);
    }
    const pulls = await lastPulls(s);
    expect(pulls.map((p) => [p.userAgent, p.status, p.remoteAddress])).toEqual([
      ['leaver-2', 499, '127.0.0.1'],
      ['leaver-1', 499, '127.0.0.1'],
    ]);
    expect(pulls[0]?.interrupted).toEqual(expect.any(String));
  });
});
