import { setTimeout as sleep } from 'node:timers/promises';
import { ProcReader, type ReadOptions } from '../proc/index.js';
import { compileFilter, type ProcessFilter, selectProcesses } from '../select/index.js';
import { Sampler } from './sampler.js';
import type { ProcessSample, SystemSample } from './types.js';

export interface ListOptions extends ReadOptions {
  /** The window over which CPU % is measured (two reads this far apart). Default 250 ms. */
  sampleMs?: number;
  /** A procfs root other than /proc (fixtures). */
  procRoot?: string;
}

export interface ProcessList {
  /** Sorted by RSS, largest first. */
  processes: ProcessSample[];
  system: SystemSample;
  /** Why each pid was selected. */
  reasons: Map<number, string[]>;
  /** Patterns that matched no process. */
  unmatched: string[];
}

export const DEFAULT_SAMPLE_MS = 250;

function byRssDescending(a: ProcessSample, b: ProcessSample): number {
  return (b.rss ?? -1) - (a.rss ?? -1) || a.pid - b.pid;
}

/**
 * Finds the processes a filter selects and samples them twice, `sampleMs` apart, so CPU % is a
 * measured rate. A process that exits inside the window is left out. The window runs from the
 * first sweep's start: each process's rate is taken between its own two reads, so the time the
 * first sweep spends opening files need not be waited for again.
 */
export async function listProcesses(filter: ProcessFilter, options: ListOptions = {}): Promise<ProcessList> {
  // Each process is read twice: schedstat would only add a file to open.
  const reader = new ProcReader({
    schedstat: false,
    ...(options.procRoot ? { root: options.procRoot } : {}),
  });
  const compiled = compileFilter(filter, { cgroupPaths: (pid) => reader.cgroupPaths(pid) });
  try {
    const started = performance.now();
    const sampler = new Sampler(reader);
    const selection = selectProcesses(reader.sweep({ smaps: false }), compiled);
    const firstSystem = sampler.system();
    sampler.processes(selection.records, firstSystem.memTotal, false);
    // Which cgroup each process is in, read now, inside the window: the reader keeps it, and the
    // second pass then reads only what changes.
    for (const record of selection.records) reader.cgroupPaths(record.pid);
    await sleep(Math.max(0, (options.sampleMs ?? DEFAULT_SAMPLE_MS) - (performance.now() - started)));
    const again = [];
    for (const record of selection.records) {
      const fresh = reader.read(record.pid, options);
      if (fresh && fresh.startTicks === record.startTicks) again.push(fresh);
    }
    const system = sampler.system();
    const processes = sampler.processes(again, system.memTotal).sort(byRssDescending);
    return { processes, system, reasons: selection.reasons, unmatched: selection.unmatched };
  } finally {
    reader.close();
  }
}

/** The machine's memory, swap, load, and CPU % measured over `sampleMs`. */
export async function readSystem(
  options: { sampleMs?: number; procRoot?: string } = {},
): Promise<SystemSample> {
  const reader = options.procRoot ? new ProcReader({ root: options.procRoot }) : new ProcReader();
  const sampler = new Sampler(reader);
  sampler.system();
  await sleep(options.sampleMs ?? DEFAULT_SAMPLE_MS);
  return sampler.system();
}
