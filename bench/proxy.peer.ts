/**
 * The floor of a recommendations load on this machine: the thinnest proxy Node can be, in a child
 * process of its own (`peer.ts`). For `GET /v1/recommendations/{group}/{algorithm}?…` it asks the
 * upstream (the emulator, over HTTP/2 and TLS with undici, as the service does) and answers
 * `{"source":"retailrocket","items":[{"id"}…]}` with the same Server-Timing; no database, no
 * checks, no enrichment. The same load on it as on the service shows what the machine, the load
 * generator and one hop through Node add per answer before the service does anything of its own.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { announcePeer, startPeer, type Peer } from './peer.ts';

export interface ProxyOptions {
  /** Retail Rocket's v3.0 base, e.g. https://127.0.0.1:port/api/3.0/ */
  upstream: string;
  caFile: string;
  partnerId: string;
  apiKey: string;
}

export function startProxyProcess(options: ProxyOptions): Promise<Peer<{ url: string }>> {
  return startPeer<{ url: string }>(fileURLToPath(import.meta.url), options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const o = JSON.parse(process.argv[2] ?? '{}') as ProxyOptions;
  const agent = new Agent({ allowH2: true, pipelining: 256, connect: { ca: readFileSync(o.caFile) } });
  const PATH = /^\/v1\/recommendations\/([^/?]+)\/([^/?]+)\/?(?:\?(.*))?$/;
  const server = http.createServer((req, res) => {
    const started = performance.now();
    const m = PATH.exec(req.url ?? '');
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const url = `${o.upstream}${m[1]}/${m[2]}/?partnerId=${o.partnerId}&apiKey=${o.apiKey}&${m[3] ?? ''}`;
    const calledAt = performance.now();
    request(url, { dispatcher: agent })
      .then((r) => r.body.json() as Promise<{ recommendations: { productId: number }[] }>)
      .then((body) => {
        const rr = performance.now() - calledAt;
        const data = JSON.stringify({
          source: 'retailrocket',
          items: body.recommendations.map((r) => ({ id: r.productId })),
        });
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(Buffer.byteLength(data)),
          'server-timing': `rr;dur=${rr.toFixed(1)}, total;dur=${(performance.now() - started).toFixed(1)}`,
        });
        res.end(data);
      })
      .catch(() => res.writeHead(502).end());
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    announcePeer({ url: `http://127.0.0.1:${port}` }, () => agent.close());
  });
}
