/**
 * A peer of a benchmark (the emulator, a no-op server) in a child process of its own: it must not
 * share the event loop of the process being measured or of the load. `startPeer(file, arg)` runs
 * `file` through tsx with `arg` as JSON; the child calls `announcePeer(info, stop)`, which prints
 * `info` as one JSON line and stops on SIGTERM or when its stdin closes (the parent died).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Peer<T> {
  info: T;
  pid: number;
  stop(): void;
}

export function startPeer<T>(file: string, arg: unknown = {}): Promise<Peer<T>> {
  // A peer stands in for another machine (Retail Rocket, a bare hop), so its garbage collector
  // runs on its own thread only: V8's parallel collectors would take both cores of a 2-core
  // machine for a moment. Measured with bench:api's events load: the emulator, holding every event
  // it received, did so every ~10 s (its wait for a CPU rose from ~3 % to 20-36 % of that second,
  // the service's and the load's with it); with this, 3-7 %.
  // BENCH_PEER_NODE_FLAGS: more Node flags for the peers, e.g. --cpu-prof --cpu-prof-dir=/tmp/prof.
  const flags = [
    '--single-threaded-gc',
    ...(process.env.BENCH_PEER_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ];
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', file, JSON.stringify(arg)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ info: JSON.parse(line) as T, pid: child.pid!, stop: () => child.kill('SIGTERM') }),
    );
  });
}

/** In the child: tell the parent `info`, then run until it stops us (or dies). */
export function announcePeer(info: unknown, stop: () => Promise<unknown> = async () => undefined): void {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const end = () => void stop().finally(() => process.exit(0));
  process.on('SIGTERM', end);
  process.stdin.on('end', end);
  process.stdin.resume();
}
