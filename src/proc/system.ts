import { availableParallelism } from 'node:os';
import { type ReadOutcome, readText } from './files.js';
import type { SystemMemory } from './types.js';

/** A machine-wide file that could not be read, with the errno name as its `code`, as Node's own errors. */
function unreadable(path: string, outcome: ReadOutcome): Error {
  const code = outcome.ok ? 'EIO' : outcome.code;
  return Object.assign(new Error(`cannot read ${path}: ${code}`), { code });
}

/** `/proc/meminfo` in bytes. MemAvailable is the kernel's own estimate (since 3.14). */
export function readMemInfo(root = '/proc'): SystemMemory {
  const text = readText(`${root}/meminfo`);
  if (typeof text !== 'string') throw unreadable(`${root}/meminfo`, text);
  const kib = (key: string): number => {
    const at = text.indexOf(`\n${key}:`);
    const start = at < 0 ? (text.startsWith(`${key}:`) ? 0 : -1) : at + 1;
    if (start < 0) return 0;
    return Number.parseInt(text.slice(start + key.length + 1), 10) * 1024 || 0;
  };
  const free = kib('MemFree');
  return {
    totalBytes: kib('MemTotal'),
    freeBytes: free,
    availableBytes: text.includes('MemAvailable:')
      ? kib('MemAvailable')
      : free + kib('Buffers') + kib('Cached'),
    swapTotalBytes: kib('SwapTotal'),
    swapFreeBytes: kib('SwapFree'),
  };
}

export interface CpuTimes {
  /** All jiffies of all CPUs together. */
  totalTicks: number;
  /** idle + iowait. */
  idleTicks: number;
}

export interface KernelStat {
  cpu: CpuTimes;
  /** Boot time, seconds since the epoch (`btime`). */
  bootTimeSeconds: number;
  /** Forks since boot (`processes`): unchanged means no process or thread was created. */
  forks?: number;
}

export function readKernelStat(root = '/proc'): KernelStat {
  const text = readText(`${root}/stat`, 256 * 1024);
  if (typeof text !== 'string') throw unreadable(`${root}/stat`, text);
  const firstLine = text.slice(0, text.indexOf('\n'));
  const fields = firstLine.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice — already inside user/nice]
  const total = fields.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const btime = /\nbtime (\d+)/.exec(text);
  const processes = /\nprocesses (\d+)/.exec(text);
  const stat: KernelStat = {
    cpu: { totalTicks: total, idleTicks: idle },
    bootTimeSeconds: btime ? Number(btime[1]) : 0,
  };
  if (processes) stat.forks = Number(processes[1]);
  return stat;
}

export function readLoadAverage(root = '/proc'): [number, number, number] {
  const text = readText(`${root}/loadavg`);
  if (typeof text !== 'string') return [0, 0, 0];
  const [a, b, c] = text.split(' ').map(Number);
  return [a ?? 0, b ?? 0, c ?? 0];
}

export function readUptimeSeconds(root = '/proc'): number {
  const text = readText(`${root}/uptime`);
  return typeof text === 'string' ? Number.parseFloat(text) : 0;
}

/** CPUs this process may run on, as os.availableParallelism() counts them (affinity-aware). */
export function cpuCount(): number {
  return availableParallelism();
}

/** Busy share of all CPUs between two reads, 0–100. */
export function cpuBusyPercent(before: CpuTimes, after: CpuTimes): number | undefined {
  const total = after.totalTicks - before.totalTicks;
  if (total <= 0) return undefined;
  const idle = after.idleTicks - before.idleTicks;
  return Math.min(100, Math.max(0, ((total - idle) / total) * 100));
}
