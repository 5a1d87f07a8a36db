import type { Pressure } from '../proc/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';

/**
 * The leak detector's answer for one target, as far as the views need it: drawn from its
 * processes' `ProcessTrend`s, which are drawn from the detector's full `TrendResult`.
 */
export interface TargetTrend {
  verdict: 'leak' | 'no-leak' | 'insufficient';
  /** Growth of the post-GC floor; absent when the detector had too little data. */
  slopeBytesPerSecond?: number;
  /** Until the configured or cgroup limit at this slope; absent when there is no limit or no growth. */
  timeToLimitSeconds?: number;
  /** Why this verdict; for `insufficient`, what is missing. */
  reason?: string;
  /** For `insufficient` on a rising floor: about how much longer until a verdict. */
  neededSeconds?: number;
}

export interface TargetTick {
  /** The target's name from the config: a label value, so kept short and stable. */
  name: string;
  processes: ProcessSample[];
  trend?: TargetTrend;
  /**
   * A target named by cgroup, unit or container: that cgroup's own use, the limit on it, and
   * its memory pressure (cgroup v2 with PSI).
   */
  cgroup?: { path: string; currentBytes?: number; limitBytes?: number; pressure?: Pressure };
  /** None matched while /proc hides other users' processes: the count is unknown, not 0. */
  unknown?: boolean;
}

/** The daemon's own health, as running totals since it started. */
export interface DaemonCounters {
  /** `/proc` reads that failed for a reason other than the process being gone. */
  procReadErrors: { denied: number; failed: number };
  /** Ticks skipped because the previous one was still running. */
  cycleOverruns: number;
  /** Cycles lost to a failed system call (EMFILE, ENFILE…): counted, never fatal. */
  cycleErrors: number;
  /** Whether the last config (re)load succeeded. */
  configLastReloadSuccess: boolean;
  /** How long the last tick took, from start of the sweep to the last consumer. */
  lastCycleDurationMs: number;
  /** Failed writes to the history file, and samples given up on (backlog full); 0 without one. */
  storageWriteErrors: number;
  samplesDropped: number;
  /** The kernel's OOM kills seen since start: on the machine, and of each target's processes. */
  oomKills?: { machine: number; byTarget: ReadonlyMap<string, number> };
}

/** Everything one tick produced: what `/metrics`, the dashboard and `top` show. */
export interface Tick {
  /** Wall-clock ms since the epoch. */
  time: number;
  system: SystemSample;
  targets: TargetTick[];
  counters: DaemonCounters;
}
