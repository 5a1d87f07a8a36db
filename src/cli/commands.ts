import type { Command } from './command.js';
import { historyCommand } from './history.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [historyCommand];
