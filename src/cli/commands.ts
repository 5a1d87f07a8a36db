import { analyzeCommand } from './analyze.js';
import { checkCommand } from './check.js';
import type { Command } from './command.js';
import { diffCommand } from './diff.js';
import { gcCommand } from './gc.js';
import { guardCommand } from './guard.js';
import { historyCommand } from './history.js';
import { inspectCommand } from './inspect.js';
import { leaksCommand } from './leaks.js';
import { psCommand } from './ps.js';
import { reportCommand } from './report.js';
import { serveCommand } from './serve.js';
import { snapshotCommand } from './snapshot.js';
import { systemCommand } from './system.js';
import { topCommand } from './top.js';
import { watchCommand } from './watch.js';

/** Every command, in the order `memwarden --help` lists them. */
export const COMMANDS: readonly Command[] = [
  psCommand,
  systemCommand,
  topCommand,
  watchCommand,
  guardCommand,
  checkCommand,
  historyCommand,
  gcCommand,
  snapshotCommand,
  inspectCommand,
  analyzeCommand,
  diffCommand,
  leaksCommand,
  serveCommand,
  reportCommand,
];
