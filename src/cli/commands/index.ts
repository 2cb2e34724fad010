import type { Command } from '../command.ts';
import { migrateCommand } from './migrate.command.ts';

/** Every CLI command. Each lives in a file of its own next to this one. */
export const COMMANDS: Command[] = [migrateCommand];
