import type { Command } from './command.js';
import { diffCommand } from './diff.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [diffCommand];
