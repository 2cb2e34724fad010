/**
 * The emulator as a child process for the benchmarks: it must not share the event loop (or the
 * cores' scheduling) of the process being measured. `startEmulatorProcess(options)` spawns this
 * file with the options as JSON; the child prints its URLs as one JSON line and stops on SIGTERM
 * or when its stdin closes (the parent died).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEmulator, type EmulatorOptions } from '../src/emulator/index.ts';

export interface EmulatorInfo {
  h2Url: string;
  httpUrl: string;
  caFile: string;
}

export interface EmulatorProcess {
  info: EmulatorInfo;
  pid: number;
  stop(): void;
}

export function startEmulatorProcess(options: EmulatorOptions): Promise<EmulatorProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(options)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`emulator child exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ info: JSON.parse(line) as EmulatorInfo, pid: child.pid!, stop: () => child.kill('SIGTERM') }),
    );
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const emu = await startEmulator(JSON.parse(process.argv[2] ?? '{}') as EmulatorOptions);
  process.stdout.write(`${JSON.stringify({ h2Url: emu.h2Url, httpUrl: emu.httpUrl, caFile: emu.caFile })}\n`);
  const stop = () => void emu.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}
