/**
 * The floor of a load on this machine: an HTTP server in a child process (`peer.ts`) that reads
 * each request and answers `202 {"id":"0"}` at once, with no database and no work. The same load
 * on it as on the service shows what the machine alone (the load generator, scheduling, other
 * processes) adds to the latency.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { announcePeer, startPeer, type Peer } from './peer.ts';

export function startNoopProcess(): Promise<Peer<{ url: string }>> {
  return startPeer<{ url: string }>(fileURLToPath(import.meta.url));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': '10' });
      res.end('{"id":"0"}');
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    announcePeer({ url: `http://127.0.0.1:${port}` });
  });
}
