import type { ProcessIdentity } from '../../proc/index.js';
import type { PythonInfo } from './detect.js';

/** How memwarden reached into the interpreter, in order of preference. */
export type PythonPath = 'agent' | 'remote_exec' | 'lldb';

export interface PythonOptions {
  /** The whole operation, attach to answer. Default 30 s. */
  timeoutMs?: number;
  /** The process the caller decided about: refused with MW_NO_PROCESS if the pid now names another. */
  expect?: ProcessIdentity;
  /**
   * The paths that may be tried, in this order. By default: the agent, then `sys.remote_exec` on
   * 3.14+, or lldb before 3.14. A 3.14+ target never falls back to lldb unless it is listed here.
   */
  paths?: readonly PythonPath[];
  /** The lldb executable, when not the one on PATH. */
  lldbPath?: string;
}

export interface PythonGcResult {
  pid: number;
  path: PythonPath;
  pythonVersion?: string;
  /** What `gc.collect()` returned: unreachable objects found. */
  collected: number;
  /** RSS from /proc/<pid>/statm right before and right after. */
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  /** The whole operation, attach included. */
  durationMs: number;
}

export interface PythonSnapshotOptions extends PythonOptions {
  /** Also write the snapshot there as JSON (created 0600; an existing link is refused). */
  outFile?: string;
  /** How many types and tracemalloc sites to keep. Default 100, at most 1000. */
  top?: number;
}

export interface PythonTypeCount {
  /** `module.QualName`; builtins without a module. */
  name: string;
  count: number;
  /** The objects' own sizes (`sys.getsizeof`), not what they hold. */
  sizeBytes: number;
}

export interface PythonAllocationSite {
  file: string;
  line: number;
  sizeBytes: number;
  count: number;
}

export interface PythonSnapshot {
  runtime: 'python';
  pid: number;
  path: PythonPath;
  /** ISO 8601, UTC, as the target saw it. */
  time: string;
  pythonVersion: string;
  /** Objects the collector tracks (containers and instances), before the `top` cut. */
  gcObjects: number;
  /** Most numerous types first. */
  types: PythonTypeCount[];
  /**
   * True when this snapshot started tracemalloc: it sees only allocations made after it starts,
   * so the sites become meaningful from the next snapshot on.
   */
  tracemallocStartedNow: boolean;
  tracemallocTracedBytes: number;
  /** Largest allocation sites first (memory still allocated, by file and line). */
  tracemalloc: PythonAllocationSite[];
}

export interface PathProbe {
  path: PythonPath;
  available: boolean;
  /** Why not, when not; for the agent, also where its socket is when it is. */
  reason?: string;
  socket?: string;
}

export interface PythonProbes {
  pid: number;
  /** Undefined when the process is not (or no longer) CPython; `reason` says why. */
  python?: PythonInfo;
  reason?: string;
  /** Every path, in the order they would be tried. */
  paths: PathProbe[];
  /** The path an operation would take now. */
  preferred?: PythonPath;
}
