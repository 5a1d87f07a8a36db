import type { Command } from './command.js';
import { gcCommand } from './gc.js';
import { inspectCommand } from './inspect.js';
import { psCommand } from './ps.js';
import { snapshotCommand } from './snapshot.js';
import { systemCommand } from './system.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [
  psCommand,
  systemCommand,
  gcCommand,
  snapshotCommand,
  inspectCommand,
];
