import http from 'node:http';
import type { Logger } from '../../src/shared/logger.ts';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request over a fresh connection, body bytes as sent (no automatic decompression). */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.end();
  });
}

export interface CapturedLog {
  level: string;
  obj: Record<string, unknown>;
  msg?: string;
}

/** A Logger that keeps every line, so tests can read what operators would see. */
export function captureLogger(): {
  logger: Logger;
  lines: CapturedLog[];
  /** Resolves with the first line (already logged or still to come) that matches. */
  waitFor(match: (line: CapturedLog) => boolean): Promise<CapturedLog>;
} {
  const lines: CapturedLog[] = [];
  const waiters = new Set<{ match: (line: CapturedLog) => boolean; resolve: (l: CapturedLog) => void }>();
  const make = (bindings: Record<string, unknown>): Logger => {
    const at =
      (level: string) =>
      (obj: Record<string, unknown>, msg?: string): void => {
        const line = { level, obj: { ...bindings, ...obj }, msg };
        lines.push(line);
        for (const w of waiters)
          if (w.match(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
      };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  const waitFor = (match: (line: CapturedLog) => boolean) =>
    new Promise<CapturedLog>((resolve) => {
      const seen = lines.find(match);
      if (seen) resolve(seen);
      else waiters.add({ match, resolve });
    });
  return { logger: make({}), lines, waitFor };
}
