/**
 * A server process for the crash test: the event routes and a sender, as `run` would assemble
 * them, printing `{"url"}` on stdout once it listens. Killed with SIGKILL by the test.
 */
import { startApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createPool } from '../../src/db/pool.ts';
import { createEventRoutes, createEventSender, createEventService } from '../../src/events/index.ts';
import { createRetailRocketClient } from '../../src/rr/index.ts';
import { silentLogger } from '../../src/shared/logger.ts';

const config = loadConfig(process.env);
const state = createPool(config.databaseUrl!, { max: 10 });
const rr = createRetailRocketClient(config.rr, { logger: silentLogger });
const sender = createEventSender(
  { state, rr, config, logger: silentLogger, owner: process.env.SENDER_OWNER },
  { leaseMs: Number(process.env.SENDER_LEASE_MS ?? 3000), pollMs: 200 },
);
const service = createEventService({ state, config, logger: silentLogger, sender });
const app = await startApp(
  { config, logger: silentLogger },
  { port: 0, host: '127.0.0.1', routes: createEventRoutes(service, config) },
);
sender.start();
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);
