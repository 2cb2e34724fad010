import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { handleAdmin } from './emulator.admin.ts';
import type { AppContext } from './emulator.context.ts';
import { injectFaults } from './emulator.faults.ts';
import {
  HttpError,
  notFound,
  readBody,
  sendJson,
  type Exchange,
  type Req,
  type Res,
} from './emulator.http.ts';
import { handleProducts, recordProductCall } from './emulator.products.ts';
import { handleRecommendations } from './emulator.recommendations.ts';
import { handleTracking } from './emulator.tracking.ts';

const ROUTES = [handleAdmin, handleTracking, handleRecommendations, handleProducts];

/** One request through faults, then the first route that claims its path. */
export async function handleRequest(ctx: AppContext, req: Req, res: Res): Promise<void> {
  const started = performance.now();
  const receivedAt = new Date();
  const url = new URL(req.url ?? '/', 'http://emulator.invalid');
  const path = url.pathname;
  try {
    const body = await readBody(req, ctx.behaviour.maxBodyBytes);
    const ex: Exchange = { method: req.method ?? 'GET', url, path, headers: req.headers, body, req, res };
    if (await injectFaults(ctx.faults, ex)) return;
    for (const route of ROUTES) if (await route(ctx, ex)) return;
    throw notFound(path);
  } catch (err) {
    if (err instanceof HttpError) {
      sendJson(res, err.status, err.body, err.headers);
    } else {
      ctx.logger.error(
        { err: { message: (err as Error).message, stack: (err as Error).stack }, path },
        'emulator route failed',
      );
      sendJson(res, 500, { error: 'internal', message: 'emulator failure' });
    }
  } finally {
    recordProductCall(ctx, { path, url, receivedAt, status: res.headersSent ? res.statusCode : 0 });
    // The query is never logged: it carries the apiKey.
    ctx.logger.debug(
      { method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) },
      'emulator request',
    );
  }
}

export interface RunningServers {
  h2Port: number;
  httpPort: number;
  close(): Promise<void>;
}

function listen(server: http.Server | http2.Http2SecureServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function trackSockets(server: http.Server | http2.Http2SecureServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** HTTP/2 over TLS (HTTP/1.1 allowed on it too) and plain HTTP/1.1, both serving the same app. */
export async function startServers(
  ctx: AppContext,
  tls: { key: string; cert: string },
  host: string,
  ports: { h2: number; http: number },
): Promise<RunningServers> {
  const handler = (req: Req, res: Res) => void handleRequest(ctx, req, res);
  const secure = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, handler);
  const plain = http.createServer(handler);
  const sockets = [trackSockets(secure), trackSockets(plain)];
  const sessions = new Set<http2.ServerHttp2Session>();
  secure.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  // A client that resets a stream or drops a socket mid-request must not crash the emulator.
  secure.on('sessionError', (err) => ctx.logger.debug({ err: err.message }, 'http2 session error'));
  secure.on('tlsClientError', (err) => ctx.logger.debug({ err: err.message }, 'tls client error'));
  plain.on('clientError', (_err, socket) => socket.destroy());
  let h2Port: number;
  try {
    h2Port = await listen(secure, ports.h2, host);
  } catch (err) {
    throw new Error(`emulator: cannot listen on ${host}:${ports.h2} (HTTP/2): ${(err as Error).message}`, {
      cause: err,
    });
  }
  let httpPort: number;
  try {
    httpPort = await listen(plain, ports.http, host);
  } catch (err) {
    secure.close();
    throw new Error(
      `emulator: cannot listen on ${host}:${ports.http} (HTTP/1.1): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    h2Port,
    httpPort,
    async close() {
      const closed = [secure, plain].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of sessions) s.destroy();
      plain.closeAllConnections();
      for (const set of sockets) for (const socket of set) socket.destroy();
      await Promise.all(closed);
    },
  };
}
