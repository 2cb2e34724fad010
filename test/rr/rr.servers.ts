import { mkdtemp, writeFile } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';

export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;
export type Handler = (req: Req, res: Res, body: string) => void | Promise<void>;

export interface TestServer {
  url: string;
  /** Sockets accepted so far (TLS sessions for https). */
  connections(): number;
  close(): Promise<void>;
}

let tlsMaterial: Promise<{ key: string; cert: string; caFile: string }> | undefined;

/** One self-signed certificate for 127.0.0.1 per test file; caFile trusts it. */
export function testTls() {
  tlsMaterial ??= (async () => {
    const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
      keyType: 'ec',
      curve: 'P-256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'rr-tls-'));
    const caFile = path.join(dir, 'ca.pem');
    await writeFile(caFile, pems.cert);
    return { key: pems.private, cert: pems.cert, caFile };
  })();
  return tlsMaterial;
}

/**
 * A real peer on a real socket: `h2` (TLS, ALPN h2), `https1` (TLS without h2) or `http1`.
 * The handler gets the whole request body as text.
 */
export async function startTestServer(
  kind: 'h2' | 'https1' | 'http1',
  handler: Handler,
): Promise<TestServer> {
  const listener = (req: Req, res: Res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      Promise.resolve(handler(req, res, body)).catch(() => res.destroy?.());
    });
  };
  let server: http.Server | https.Server | http2.Http2SecureServer;
  let connections = 0;
  const sockets = new Set<Socket>();
  if (kind === 'http1') {
    server = http.createServer(listener);
  } else {
    const { key, cert } = await testTls();
    server =
      kind === 'h2'
        ? http2.createSecureServer({ key, cert, allowHTTP1: true }, listener)
        : https.createServer({ key, cert }, listener);
  }
  server.on(kind === 'http1' ? 'connection' : 'secureConnection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${kind === 'http1' ? 'http' : 'https'}://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function reply(res: Res, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.destroyed) return;
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}
