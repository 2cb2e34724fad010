/**
 * The floor of a load on this machine: an HTTP server in a child process that reads each request
 * and answers `202 {"id":"0"}` at once, with no database and no work. The same load on it as on
 * the service shows what the machine alone (the load generator, scheduling, other processes) adds
 * to the latency: `startNoopProcess()` spawns this file, which prints its URL as one JSON line.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface NoopProcess {
  url: string;
  stop(): void;
}

export function startNoopProcess(): Promise<NoopProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`no-op server exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const { url } = JSON.parse(line) as { url: string };
      resolve({ url, stop: () => child.kill('SIGTERM') });
    });
  });
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
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
