import type { Command } from './command.js';

/**
 * Every command, in the order `memwarden --help` lists them. Each command's code (and what it
 * pulls in: SQLite, the dashboard server, the heap parser) is loaded only when that command runs,
 * so `memwarden ps` does not wait for modules it never uses.
 */
export interface CommandEntry {
  name: string;
  /** One line for `memwarden --help`. */
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'ps',
    summary: 'list processes by pattern, name, pid, user, cgroup, unit or container, with memory and CPU',
    load: async () => (await import('./ps.js')).psCommand,
  },
  {
    name: 'system',
    summary: "the machine's memory, swap, CPU and load",
    load: async () => (await import('./system.js')).systemCommand,
  },
  {
    name: 'top',
    summary: 'live full-screen view of processes by memory',
    load: async () => (await import('./top.js')).topCommand,
  },
  {
    name: 'watch',
    summary: 'watch processes on an interval: log, keep history, evaluate rules, act',
    load: async () => (await import('./watch.js')).watchCommand,
  },
  {
    name: 'guard',
    summary: 'act before the kernel OOM killer does: pick one victim, escalate, re-measure',
    load: async () => (await import('./guard.js')).guardCommand,
  },
  {
    name: 'check',
    summary: 'validate a config file and show what each target matches now',
    load: async () => (await import('./check.js')).checkCommand,
  },
  {
    name: 'history',
    summary: 'print the stored memory and CPU history of a target or pid',
    load: async () => (await import('./history.js')).historyCommand,
  },
  {
    name: 'gc',
    summary: 'make a process give memory back to the OS now: collect, then trim (native: --trim)',
    load: async () => (await import('./gc.js')).gcCommand,
  },
  {
    name: 'snapshot',
    summary: 'capture a heap snapshot of a running process (Node.js .heapsnapshot, Python JSON)',
    load: async () => (await import('./snapshot.js')).snapshotCommand,
  },
  {
    name: 'inspect',
    summary: "a process's runtime and which probes (gc, snapshot, trim) can run on it",
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    name: 'analyze',
    summary: 'tell a leak from normal memory patterns in a recorded series; time to a limit',
    load: async () => (await import('./analyze.js')).analyzeCommand,
  },
  {
    name: 'diff',
    summary: 'objects that grew between heap snapshots, with what holds them',
    load: async () => (await import('./diff.js')).diffCommand,
  },
  {
    name: 'leaks',
    summary: "watch a Node.js or Python process's heap and name what grows",
    load: async () => (await import('./leaks.js')).leaksCommand,
  },
  {
    name: 'serve',
    summary: 'serve the dashboard and /metrics for processes matching patterns',
    load: async () => (await import('./serve.js')).serveCommand,
  },
  {
    name: 'report',
    summary: 'write a self-contained HTML report of the history',
    load: async () => (await import('./report.js')).reportCommand,
  },
];
