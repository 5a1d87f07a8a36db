import type { Pressure, ProcessRecord } from '../proc/index.js';

/** A process at one tick: the raw record plus what needs a previous read or the machine. */
export interface ProcessSample extends ProcessRecord {
  /** Wall-clock time of the read, ms since the epoch. */
  time: number;
  /** 100 % = one core; undefined on the first read of a process. */
  cpuPercent?: number;
  /** RSS as a percentage of the machine's total memory. */
  memPercent?: number;
  /** RSS as a percentage of the process's cgroup `memory.max`; absent when there is no limit. */
  memLimitPercent?: number;
  cgroup?: string;
  cgroupLimitBytes?: number;
  /** The process's cgroup v2 `memory.pressure`, where the kernel keeps one for it. */
  cgroupPressure?: Pressure;
}

export interface SystemSample {
  time: number;
  memTotal: number;
  memAvailable: number;
  memUsed: number;
  memPercent: number;
  swapTotal: number;
  swapFree: number;
  cpuCount: number;
  /** Whole machine, 0–100 (all cores together); undefined without a previous read. */
  cpuPercent?: number;
  load1: number;
  load5: number;
  load15: number;
  uptimeSeconds: number;
  /** `/proc/pressure/memory`; absent on a kernel without PSI. */
  pressure?: Pressure;
}
