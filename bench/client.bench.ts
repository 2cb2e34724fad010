/**
 * bench:client — the Retail Rocket client under load against the emulator.
 *
 * The emulator runs in a child process (it must not share the client's event loop) with 100 ms
 * injected latency and its rate limits off. 200 concurrent callers issue recommendation calls for
 * ~10 s, once over one HTTP/2 connection and once over an HTTP/1.1 keep-alive pool. Prints
 * requests/s, p50/p99/max latency, the client's own overhead (p99 minus the injected latency),
 * and checks that no call ever took longer than the deadline plus 10 ms. `in-client` is the part
 * of each call spent in this process outside the wire and the peer (undici diagnostics channels).
 *
 *   npm run bench:client            (BENCH_SECONDS, BENCH_CALLERS, BENCH_LATENCY_MS to change)
 */
import { spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { DEMO_PARTNER, startEmulator } from '../src/emulator/index.ts';
import { createRetailRocketClient, type RetailRocketClient, type RrResult } from '../src/rr/index.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { createTlsMaterial } from '../src/emulator/emulator.tls.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 200);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 100);
const DEADLINE_MS = 500;
const STAGGER = process.env.BENCH_STAGGER !== '0';

interface EmulatorInfo {
  h2Url: string;
  httpUrl: string;
  caFile: string;
}

async function runEmulatorChild(): Promise<void> {
  const emu = await startEmulator({
    port: 0,
    httpPort: 0,
    faults: { delayMs: LATENCY_MS },
    limits: { tracking: 0, recommendations: 0, site: 0 },
  });
  announce({ h2Url: emu.h2Url, httpUrl: emu.httpUrl, caFile: emu.caFile }, () => emu.stop());
}

/**
 * Control peer: answers every request after the same latency with a fixed body and does nothing
 * else, so that its p99 minus the latency is the client's own overhead alone.
 */
async function runBareChild(): Promise<void> {
  const tls = await createTlsMaterial(undefined, '127.0.0.1');
  const body = JSON.stringify({
    recommendations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((productId) => ({ productId })),
  });
  const handler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    }, LATENCY_MS);
  };
  const h2 = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, handler);
  const h1 = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  await Promise.all([h2, h1].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
  const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
  announce(
    { h2Url: `https://127.0.0.1:${port(h2)}`, httpUrl: `http://127.0.0.1:${port(h1)}`, caFile: tls.caFile },
    async () => {
      h1.closeAllConnections();
      await Promise.all([h2, h1].map((s) => new Promise((r) => s.close(r))));
    },
  );
}

function announce(info: EmulatorInfo, stopPeer: () => Promise<unknown>) {
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const stop = () => void stopPeer().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

function startPeerProcess(kind: 'emulator' | 'bare'): Promise<{ info: EmulatorInfo; stop: () => void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), `--peer=${kind}`],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${kind} child exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ info: JSON.parse(line) as EmulatorInfo, stop: () => child.kill('SIGTERM') }),
    );
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/**
 * Time each request spent on the wire and in the peer, from undici's diagnostics channels: from
 * its headers being written to the response headers arriving. Each caller has one call in flight,
 * so the caller number in the visitor id is the key.
 */
const wire = new Map<number, { sent?: number; headers?: number }>();
const callerOf = (request: { path?: string }) => Number(/bench-(\d+)/.exec(request.path ?? '')?.[1] ?? NaN);
diagnostics.subscribe('undici:client:sendHeaders', (m) => {
  const i = callerOf((m as { request: { path?: string } }).request);
  if (!Number.isNaN(i)) wire.set(i, { sent: performance.now() });
});
diagnostics.subscribe('undici:request:headers', (m) => {
  const i = callerOf((m as { request: { path?: string } }).request);
  const w = wire.get(i);
  if (w) w.headers = performance.now();
});

type Call = (i: number, n: number) => Promise<RrResult<unknown>>;

const clientCall =
  (client: RetailRocketClient): Call =>
  (i, n) =>
    client.recommendations.get('productRecommendations/related', {
      sessionExternalId: `bench-${i}`,
      productIds: [1 + (n % 1000)],
    });

/** Control: bare undici on the same kind of HTTP/2 agent, without anything of the client around it. */
function rawUndiciCall(info: EmulatorInfo): { call: Call; close: () => Promise<void> } {
  const agent = new Agent({
    allowH2: true,
    connections: 1,
    pipelining: 256,
    maxConcurrentStreams: 256,
    connect: { ca: [...rootCertificates, readFileSync(info.caFile, 'utf8')] },
  });
  const base = `${info.h2Url}/api/3.0/productRecommendations/related/?partnerId=${DEMO_PARTNER.partnerId}`;
  const call: Call = async (i, n) => {
    try {
      const res = await request(`${base}&sessionExternalId=bench-${i}&productIds=${1 + (n % 1000)}`, {
        dispatcher: agent,
        signal: AbortSignal.timeout(DEADLINE_MS),
      });
      return { ok: true, status: res.statusCode, value: await res.body.json() };
    } catch {
      return { ok: false, error: { kind: 'timeout', retryable: true, message: 'raw call failed' } };
    }
  };
  return { call, close: () => agent.close() };
}

async function phase(name: string, call: Call, protocol: () => string) {
  // Warm-up: open the connection(s) before measuring.
  await Promise.all(Array.from({ length: CALLERS }, (_, i) => call(i, i)));

  const latencies: number[] = [];
  const inProcess: number[] = [];
  const failures = new Map<string, number>();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async (_, i) => {
      let n = 0;
      // Independent callers do not arrive in lockstep: spread the starts over one latency period
      // (BENCH_STAGGER=0 starts all at once, so all 200 answers also land in the same instant).
      if (STAGGER) await new Promise((r) => setTimeout(r, (i * LATENCY_MS) / CALLERS));
      while (performance.now() < until) {
        const t0 = performance.now();
        const res = await call(i, n++);
        const total = performance.now() - t0;
        latencies.push(total);
        const w = wire.get(i);
        if (w?.headers !== undefined && w.sent !== undefined) inProcess.push(total - (w.headers - w.sent));
        wire.delete(i);
        if (!res.ok) failures.set(res.error.kind, (failures.get(res.error.kind) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const p50 = pct(latencies, 50);
  const p99 = pct(latencies, 99);
  const max = latencies[latencies.length - 1] ?? NaN;
  const row = {
    transport: name,
    protocol: protocol(),
    calls: latencies.length,
    failed: Object.fromEntries(failures),
    'req/s': Math.round(latencies.length / elapsed),
    'p50 ms': +p50.toFixed(1),
    'p99 ms': +p99.toFixed(1),
    'max ms': +max.toFixed(1),
    'overhead p99 ms': +(p99 - LATENCY_MS).toFixed(1),
    'in-client p50/p99 ms': inProcess.length
      ? `${pct(
          inProcess.sort((a, b) => a - b),
          50,
        ).toFixed(2)} / ${pct(inProcess, 99).toFixed(2)}`
      : 'n/a',
    'max ≤ deadline+10': max <= DEADLINE_MS + 10,
    'client CPU µs/call': Math.round((cpu.user + cpu.system) / latencies.length),
    'loop delay p99 ms': +(loop.percentile(99) / 1e6).toFixed(1),
  };
  return row;
}

async function runAgainst(kind: 'emulator' | 'bare') {
  const { info, stop } = await startPeerProcess(kind);
  const base = {
    partnerId: DEMO_PARTNER.partnerId,
    apiKey: DEMO_PARTNER.apiKey,
    timeoutMs: DEADLINE_MS,
    // The client's own limiter is raised too: this measures transport overhead, not throttling.
    rateLimit: 100_000,
    recommendationCacheEntries: 0,
  };
  const urls = (u: string) => ({
    trackingUrl: `${u}/1.0/`,
    recommendationsUrl: `${u}/api/3.0/`,
    productApiUrl: `${u}/api/1.0/`,
  });
  const rows = [];
  try {
    const h2 = createRetailRocketClient(
      { ...base, ...urls(info.h2Url), caFile: info.caFile },
      { logger: silentLogger },
    );
    rows.push({
      peer: kind,
      ...(await phase('HTTP/2, one connection', clientCall(h2), () => h2.protocolOf(info.h2Url))),
    });
    await h2.close();
    const h1 = createRetailRocketClient(
      { ...base, ...urls(info.httpUrl), http: { http1Connections: CALLERS } },
      { logger: silentLogger },
    );
    rows.push({
      peer: kind,
      ...(await phase(`HTTP/1.1 pool (≤ ${CALLERS} sockets)`, clientCall(h1), () =>
        h1.protocolOf(info.httpUrl),
      )),
    });
    await h1.close();
    if (kind === 'bare') {
      const raw = rawUndiciCall(info);
      rows.push({ peer: kind, ...(await phase('control: bare undici, HTTP/2', raw.call, () => 'h2')) });
      await raw.close();
    }
  } finally {
    stop();
  }
  return rows;
}

async function main() {
  const peers = (process.env.BENCH_PEERS ?? 'emulator,bare').split(',') as ('emulator' | 'bare')[];
  console.log(
    `bench:client — ${CALLERS} callers × ${SECONDS} s per transport, injected latency ${LATENCY_MS} ms, deadline ${DEADLINE_MS} ms, starts ${STAGGER ? 'staggered over one latency period' : 'all at once (lockstep)'}`,
  );
  console.log('peers: emulator (child process) and a bare control server (child process, fixed answer)');
  const rows = [];
  for (const kind of peers) rows.push(...(await runAgainst(kind)));
  console.table(rows);
  const ok = rows.every((r) => r['max ≤ deadline+10']);
  console.log(
    ok
      ? `OK: no call took longer than ${DEADLINE_MS + 10} ms`
      : `FAIL: some call took longer than ${DEADLINE_MS + 10} ms`,
  );
  for (const r of rows) {
    console.log(
      `overhead p99 < 5 ms target (${r.peer}, ${r.transport}): ${r['overhead p99 ms'] < 5 ? 'met' : 'missed'} (${r['overhead p99 ms']} ms)`,
    );
  }
  process.exitCode = ok ? 0 : 1;
}

const peerArg = process.argv.find((a) => a.startsWith('--peer='));
if (peerArg === '--peer=emulator') await runEmulatorChild();
else if (peerArg === '--peer=bare') await runBareChild();
else await main();
