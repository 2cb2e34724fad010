import type { Command } from '../command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  /** Loaded only when chosen: the emulator, the HTTP server and the demo generator are not
   * parsed (nor held in memory) by runs that do not need them. */
  load(): Promise<Command>;
}

/** Every CLI command. Each lives in a file of its own next to this one. */
export const COMMANDS: CommandEntry[] = [
  {
    name: 'start',
    summary: 'seed the demo store if needed, build the feed, serve it on PORT until Ctrl-C (npm start)',
    load: async () => (await import('./start.command.ts')).startCommand,
  },
  {
    name: 'migrate',
    summary: 'create or upgrade the rr_sync state schema (idempotent, safe to run concurrently)',
    load: async () => (await import('./migrate.command.ts')).migrateCommand,
  },
  {
    name: 'feed',
    summary:
      'read, validate and write the feed; self-check it; publish it atomically unless the gate refuses',
    load: async () => (await import('./feed.command.ts')).feedCommand,
  },
  {
    name: 'validate',
    summary: 'validate the catalog and write the run report only (no feed)',
    load: async () => (await import('./feed.command.ts')).validateCommand,
  },
  {
    name: 'sync',
    summary: 'one pass: publish the feed, enqueue what changed for the Product API, push it',
    load: async () => (await import('./sync.command.ts')).syncCommand,
  },
  {
    name: 'resync',
    summary: 'resync --full: republish the feed and push every product again (resumable)',
    load: async () => (await import('./sync.command.ts')).resyncCommand,
  },
  {
    name: 'push',
    summary:
      'push the outbox to the Retail Rocket Product API until nothing is due (exit 4 when unreachable)',
    load: async () => (await import('./push.command.ts')).pushCommand,
  },
  {
    name: 'dead-letters',
    summary: 'list the pushes that failed for good; --requeue puts them back into the outbox',
    load: async () => (await import('./dead-letters.command.ts')).deadLettersCommand,
  },
  {
    name: 'serve',
    summary: 'serve the published feed (and /healthz) on PORT until Ctrl-C; no database needed',
    load: async () => (await import('./serve.command.ts')).serveCommand,
  },
  {
    name: 'run',
    summary:
      'the service: serve HTTP on PORT, run the feed on FEED_CRON and the sync on SYNC_CRON, push until SIGTERM',
    load: async () => (await import('./run.command.ts')).runCommand,
  },
  {
    name: 'status',
    summary: 'print the last runs, the outbox depth, open dead letters and the published feed version',
    load: async () => (await import('./status.command.ts')).statusCommand,
  },
  {
    name: 'demo',
    summary: 'create a deterministic demo store in CATALOG_SCHEMA (--products N, default 10,000)',
    load: async () => (await import('./demo.command.ts')).demoCommand,
  },
  {
    name: 'emulator',
    summary: 'run the local Retail Rocket emulator (HTTP/2 TLS + HTTP/1.1) until Ctrl-C',
    load: async () => (await import('./emulator.command.ts')).emulatorCommand,
  },
];
