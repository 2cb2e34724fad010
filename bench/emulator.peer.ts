/**
 * The emulator as a child process for the benchmarks (`peer.ts`): `startEmulatorProcess(options)`
 * spawns this file; the child prints its URLs as one JSON line.
 */
import { fileURLToPath } from 'node:url';
import { startEmulator, type EmulatorOptions } from '../src/emulator/index.ts';
import { announcePeer, startPeer, type Peer } from './peer.ts';

export interface EmulatorInfo {
  h2Url: string;
  httpUrl: string;
  caFile: string;
}

export type EmulatorProcess = Peer<EmulatorInfo>;

export function startEmulatorProcess(options: EmulatorOptions): Promise<EmulatorProcess> {
  return startPeer<EmulatorInfo>(fileURLToPath(import.meta.url), options);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const emu = await startEmulator(JSON.parse(process.argv[2] ?? '{}') as EmulatorOptions);
  announcePeer({ h2Url: emu.h2Url, httpUrl: emu.httpUrl, caFile: emu.caFile }, () => emu.stop());
}
