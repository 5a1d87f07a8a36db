/** What one read of `/proc/<pid>` yields. Optional fields are the ones the kernel may refuse us. */
export interface ProcessRecord {
  pid: number;
  ppid: number;
  /**
   * `comm`, the kernel's 15-byte name, untrusted (a process sets it itself), without a runtime's
   * main-thread name (Node 24+'s `MainThread`, `node-MainThread` is `node`: see comm.ts).
   */
  name: string;
  /** argv as the process shows it; empty for kernel threads and zombies. */
  cmdline: string[];
  /** One-letter kernel state: R, S, D, Z, T, t, I, X… */
  state: string;
  uid: number;
  user: string;
  /** Start time in clock ticks since boot: with the pid, the process's identity. */
  startTicks: number;
  /** Start time in milliseconds since the epoch. */
  startTime: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
  /**
   * When `cpuTicks` was read (performance.now(), ms): a rate taken between two reads of one
   * process, not between two sweeps, stays exact however long a sweep of many processes takes.
   */
  cpuReadMs: number;
  threads: number;
  /** True for kernel threads (PF_KTHREAD): never eligible for actions. */
  kernelThread: boolean;
  rss?: number;
  vms?: number;
  /** From smaps_rollup, only when asked for (it is slow and often denied). */
  pss?: number;
  uss?: number;
  swap?: number;
  /**
   * How old `pss`, `uss` and `swap` are, in ms: 0 when read this cycle, more when a time budget
   * kept an earlier read (see sample's PssBudget); absent when nothing keeps them.
   */
  pssAgeMs?: number;
  /** Names of fields that could not be read (EACCES and the like); absent when all were read. */
  partial?: string[];
}

/** The identity of a process: a reused pid has another start time. */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
}

export interface CgroupInfo {
  /** The cgroup v2 path, e.g. `/system.slice/redis.service`. */
  path: string;
  /** `memory.max` in bytes; undefined when unlimited or not readable. */
  limitBytes?: number;
  currentBytes?: number;
}

export interface SystemMemory {
  totalBytes: number;
  availableBytes: number;
  freeBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}
