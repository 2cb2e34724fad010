import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { coerceError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { HttpError, pathOf, sendError } from './server.respond.ts';
import { applyServerLimits, serverOptions } from './server.limits.ts';
import type { Route } from './server.route.ts';
import { matchRoute } from './server.router.ts';

export type { Route } from './server.route.ts';

export interface ServerDeps {
  logger: Logger;
  limits: Config['http'];
}

export interface AppServer {
  url: string;
  port: number;
  /** Stop accepting, let in-flight responses finish (up to `timeoutMs`, default 10 s), then close. */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

async function dispatch(
  routes: readonly Route[],
  req: http.IncomingMessage,
  res: http.ServerResponse,
  logger: Logger,
): Promise<void> {
  const method = req.method ?? 'GET';
  try {
    const match = matchRoute(routes, method, pathOf(req));
    if (match.kind === 'not_found') return sendError(res, 404, 'http.not_found', 'No such path.');
    if (match.kind === 'method_not_allowed') {
      const allow = match.allow.join(', ');
      return sendError(res, 405, 'http.method_not_allowed', `Allowed methods: ${allow}.`, { allow });
    }
    await match.route.handle(req, res, match.params);
  } catch (err) {
    if (res.headersSent) {
      // Half a body is worse than none: cut the connection so the client sees the failure.
      logger.error({ method, path: pathOf(req), err: coerceError(err).message }, 'response failed mid-way');
      res.destroy();
      return;
    }
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, err.headers);
    if (err instanceof URIError) return sendError(res, 400, 'http.bad_request', 'Malformed path.');
    const e = coerceError(err);
    logger.error(
      { method, path: pathOf(req), err: { message: e.message, stack: e.stack } },
      'request failed',
    );
    sendError(res, 500, 'internal', 'Internal error; see the server log.');
  }
}

/**
 * Start listening on `port` (0 = random) and answer with `routes`, first match wins. The server
 * only routes: what the routes are is the composition root's business (src/app/app.ts). The list
 * is read per request, so a part attached later (once its database is open) is served from then on.
 */
export async function startServer(
  deps: ServerDeps,
  options: { port: number; host?: string; routes: readonly Route[] },
): Promise<AppServer> {
  const logger = deps.logger.child({ component: 'http' });
  const { routes } = options;

  const inFlight = new Set<http.ServerResponse>();
  let onDrained: (() => void) | undefined;
  let isClosing = false;
  const server = http.createServer(serverOptions(deps.limits), (req, res) => {
    // A keep-alive client may still send a request after close() began: answer it, then hang up.
    if (isClosing) res.setHeader('connection', 'close');
    inFlight.add(res);
    res.on('close', () => {
      inFlight.delete(res);
      if (inFlight.size === 0) onDrained?.();
    });
    void dispatch(routes, req, res, logger);
  });
  applyServerLimits(server, deps.limits, logger);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'http server error'));

  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? 'localhost';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'http server listening');

  let closing: Promise<void> | undefined;
  const close = ({ timeoutMs = 10_000 } = {}): Promise<void> => {
    isClosing = true;
    closing ??= new Promise<void>((resolve) => {
      const closed = new Promise<void>((done) => server.close(() => done()));
      const drained = new Promise<void>((done) => {
        if (inFlight.size === 0) return done();
        onDrained = done;
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((done) => {
        timer = setTimeout(() => {
          logger.warn({ inFlight: inFlight.size, timeoutMs }, 'closing: cutting responses still in flight');
          done();
        }, timeoutMs);
        timer.unref();
      });
      void Promise.race([drained, timedOut])
        .then(() => {
          clearTimeout(timer);
          // Keep-alive sockets that went idle after their last response would hold close() open.
          server.closeAllConnections();
          return closed;
        })
        .then(() => {
          logger.info({ url }, 'http server closed');
          resolve();
        });
    });
    return closing;
  };

  return { url, port, close };
}
