import type { Command } from '../command.ts';
import { demoCommand } from './demo.command.ts';
import { feedCommand, validateCommand } from './feed.command.ts';
import { migrateCommand } from './migrate.command.ts';
import { serveCommand } from './serve.command.ts';

/** Every CLI command. Each lives in a file of its own next to this one. */
export const COMMANDS: Command[] = [migrateCommand, demoCommand, feedCommand, validateCommand, serveCommand];
