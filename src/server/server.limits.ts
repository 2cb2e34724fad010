import type http from 'node:http';
import type { Config } from '../config.ts';
import type { Logger } from '../shared/logger.ts';

type HttpLimits = Config['http'];

/**
 * Options for `http.createServer`. Node checks the headers and request deadlines only every
 * `connectionsCheckingInterval` (30 s by default), which would let a client trickling headers
 * stay up to 30 s past HTTP_HEADERS_TIMEOUT_MS: check at a fifth of the shorter deadline instead.
 */
export function serverOptions(limits: HttpLimits): http.ServerOptions {
  const shorter = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(20, Math.floor(shorter / 5))),
  };
}

const DROP_WARN_EVERY_MS = 60_000;

/**
 * The limits that need the server object: a connection cap (Node closes extra connections at
 * once, so a flood cannot exhaust file descriptors), and an inactivity deadline on every socket.
 * The inactivity deadline is what cuts a client that stops reading a download: its socket buffer
 * fills, our writes stop completing, and nothing moves for HTTP_STALL_TIMEOUT_MS. Routes may
 * listen for the response's 'timeout' to log it; without a listener Node destroys the socket.
 */
export function applyServerLimits(server: http.Server, limits: HttpLimits, logger: Logger): void {
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.stallTimeoutMs);
  let dropped = 0;
  let lastWarn = 0;
  server.on('drop', () => {
    dropped += 1;
    // One line per minute at most: a flood of refused connections must not flood the log too.
    const now = Date.now();
    if (now - lastWarn < DROP_WARN_EVERY_MS) return;
    lastWarn = now;
    logger.warn(
      { maxConnections: limits.maxConnections, droppedSoFar: dropped },
      'connection refused: HTTP_MAX_CONNECTIONS reached',
    );
  });
}
