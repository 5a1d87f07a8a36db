import type { Command } from './command.js';
import { psCommand } from './ps.js';
import { reportCommand } from './report.js';
import { serveCommand } from './serve.js';
import { systemCommand } from './system.js';
import { topCommand } from './top.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [
  psCommand,
  systemCommand,
  topCommand,
  serveCommand,
  reportCommand,
];
