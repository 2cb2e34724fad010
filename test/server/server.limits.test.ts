import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startApp } from '../../src/app/app.ts';
import type { AppServer } from '../../src/server/server.ts';
import { catalogXml, makeFeedsDir, publish } from './feeds-dir.fixture.ts';
import { captureLogger, request } from './http.fixture.ts';

let feeds: Awaited<ReturnType<typeof makeFeedsDir>>;
let server: AppServer | undefined;
let capture: ReturnType<typeof captureLogger>;
const sockets: net.Socket[] = [];

beforeEach(async () => {
  feeds = await makeFeedsDir();
  capture = captureLogger();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close({ timeoutMs: 1000 });
  server = undefined;
  await feeds.remove();
});

const start = async (env: Record<string, string>) => {
  server = await startApp(
    { config: loadConfig({ FEEDS_DIR: feeds.dir, ...env }), logger: capture.logger },
    { port: 0, host: '127.0.0.1' },
  );
  return server;
};

/** A raw connection: what it received, and a promise of its end (by the server, not by us). */
function connect(port: number) {
  const sock = net.connect(port, '127.0.0.1');
  sockets.push(sock);
  const got: Buffer[] = [];
  sock.on('data', (c: Buffer) => got.push(c));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  return { sock, closed, connected, received: () => Buffer.concat(got) };
}

const contentLength = (raw: Buffer) =>
  Number(/content-length: (\d+)/i.exec(raw.toString('latin1', 0, 1000))?.[1]);
const bodyOf = (raw: Buffer) => raw.subarray(raw.indexOf('\r\n\r\n') + 4);

describe('http server limits', () => {
  it('cuts a client that reads a few bytes of the feed and stops reading (HTTP_STALL_TIMEOUT_MS)', async () => {
    // 16 MiB: more than the socket buffers hold, so our writes stall once the client stops.
    const big = await publish(feeds.dir, 'big', catalogXml('big', 180_000), new Date());
    const s = await start({ HTTP_STALL_TIMEOUT_MS: '300' });
    const c = connect(s.port);
    await c.connected;
    c.sock.write('GET /feeds/catalog.xml HTTP/1.1\r\nHost: feed\r\nUser-Agent: staller\r\n\r\n');
    await new Promise<void>((resolve) => c.sock.once('data', () => resolve()));
    c.sock.pause(); // stop reading: the server's socket buffer fills and nothing moves
    const line = await capture.waitFor((l) => l.msg === 'feed request' && l.obj.userAgent === 'staller');
    expect(line.obj).toMatchObject({ status: 499, interrupted: 'stalled', remoteAddress: '127.0.0.1' });
    expect(line.obj.ms).toBeGreaterThanOrEqual(300);
    // The connection is gone: reading on gets what was already in flight, then the end, short.
    c.sock.resume();
    await c.closed;
    const raw = c.received();
    expect(contentLength(raw)).toBe(big.xml.length);
    expect(bodyOf(raw).length).toBeLessThan(big.xml.length);
    const health = JSON.parse((await request(`${s.url}/healthz`)).body.toString());
    expect(health.lastPulls[0]).toMatchObject({ userAgent: 'staller', status: 499, interrupted: 'stalled' });
  });

  it('answers 408 and closes when headers trickle in slower than HTTP_HEADERS_TIMEOUT_MS', async () => {
    const s = await start({ HTTP_HEADERS_TIMEOUT_MS: '400', HTTP_REQUEST_TIMEOUT_MS: '800' });
    const c = connect(s.port);
    await c.connected;
    const began = performance.now();
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: feed\r\n');
    // A header line every 50 ms keeps the socket busy, so only the headers deadline can end it.
    const trickle = setInterval(() => c.sock.write('X-Slow: y\r\n'), 50);
    await c.closed;
    clearInterval(trickle);
    expect(performance.now() - began).toBeGreaterThanOrEqual(400);
    expect(c.received().toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    await publish(feeds.dir, 'v1', catalogXml('one'), new Date());
    const s = await start({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '2000' });
    const c = connect(s.port);
    await c.connected;
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: feed\r\n\r\n');
    await new Promise<void>((resolve) => c.sock.once('data', () => resolve()));
    const answered = performance.now();
    await c.closed;
    expect(performance.now() - answered).toBeGreaterThanOrEqual(1900);
    const head = c.received().toString('latin1');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\nKeep-Alive: timeout=2\r\n/); // Node's default would say 5
  });

  it('refuses connections beyond HTTP_MAX_CONNECTIONS, logs it, and serves again once one leaves', async () => {
    await publish(feeds.dir, 'v1', catalogXml('one'), new Date());
    const s = await start({ HTTP_MAX_CONNECTIONS: '2' });
    const held = [connect(s.port), connect(s.port)];
    for (const h of held) {
      await h.connected;
      h.sock.write('GET /healthz HTTP/1.1\r\nHost: feed\r\n\r\n'); // kept alive after the answer
      await new Promise<void>((resolve) => h.sock.once('data', () => resolve()));
    }
    const extra = connect(s.port);
    await extra.closed;
    expect(extra.received().length).toBe(0);
    await expect(request(`${s.url}/healthz`)).rejects.toThrow();
    const warn = await capture.waitFor((l) => l.level === 'warn' && /HTTP_MAX_CONNECTIONS/.test(l.msg ?? ''));
    expect(warn.obj).toMatchObject({ maxConnections: 2 });

    held[0]!.sock.end();
    await held[0]!.closed;
    // The server notices the close on its own turn of the event loop: retry until it has.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await request(`${s.url}/healthz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status !== 200) await new Promise((r) => setTimeout(r, 20));
    }
    expect(status).toBe(200);
  });
});
