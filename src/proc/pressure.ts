import { readText } from './files.js';

/** One line of a PSI file: the share of time some (or all) tasks stalled on memory. */
export interface PressureLine {
  /** Percentages, 0–100, averaged over 10 s, 60 s and 300 s. */
  avg10: number;
  avg60: number;
  avg300: number;
  /** Total stall time since boot (or the cgroup's creation), microseconds. */
  totalUs: number;
}

export interface Pressure {
  some: PressureLine;
  /** Absent in the kernel's CPU file before 5.13; always there for memory. */
  full?: PressureLine;
}

function parseLine(line: string): PressureLine | undefined {
  const value = (key: string): number | undefined => {
    const m = new RegExp(`${key}=([\\d.]+)`).exec(line);
    return m ? Number(m[1]) : undefined;
  };
  const avg10 = value('avg10');
  const avg60 = value('avg60');
  const avg300 = value('avg300');
  const total = value('total');
  if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined)
    return undefined;
  return { avg10, avg60, avg300, totalUs: total };
}

/** Parses `/proc/pressure/memory` or a cgroup's `memory.pressure`. */
export function parsePressure(text: string): Pressure | undefined {
  let some: PressureLine | undefined;
  let full: PressureLine | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('some ')) some = parseLine(line);
    else if (line.startsWith('full ')) full = parseLine(line);
  }
  if (some === undefined) return undefined;
  return full === undefined ? { some } : { some, full };
}

/** The machine's memory pressure; undefined on a kernel without PSI (or booted with psi=0). */
export function readPressure(path = '/proc/pressure/memory'): Pressure | undefined {
  const text = readText(path, 1024);
  return typeof text === 'string' ? parsePressure(text) : undefined;
}
