import { analyzeCommand } from './analyze.js';
import { checkCommand } from './check.js';
import type { Command } from './command.js';
import { diffCommand } from './diff.js';
import { historyCommand } from './history.js';
import { psCommand } from './ps.js';
import { systemCommand } from './system.js';
import { watchCommand } from './watch.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [
  psCommand,
  systemCommand,
  watchCommand,
  checkCommand,
  historyCommand,
  analyzeCommand,
  diffCommand,
];
