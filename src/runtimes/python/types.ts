import type { ProcessIdentity } from '../../proc/index.js';
import type { PythonInfo } from './detect.js';

/** How memwarden reached into the interpreter, in order of preference. */
export type PythonPath = 'agent' | 'remote_exec' | 'lldb';

export interface PythonOptions {
  /** The whole operation, attach to answer. Default 30 s. */
  timeoutMs?: number;
  /** gc: trim the C heap in the same visit, right after the collection. Default true. */
  trim?: boolean;
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

/** The allocator's release call, made by the probe inside the target right after gc.collect(). */
export interface PythonHeapTrim {
  /** `glibc`, `jemalloc`, `tcmalloc`; undefined when the process has none the probe can call. */
  allocator?: string;
  /** e.g. `malloc_trim(0)`. */
  call?: string;
  /** Why nothing was called (musl, no ctypes). */
  skipped?: string;
  /** The call said it gave memory back (malloc_trim 1, mallctl 0); undefined when it does not say. */
  released?: boolean;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  durationMs?: number;
}

export interface PythonGcResult {
  pid: number;
  path: PythonPath;
  pythonVersion?: string;
  /** What `gc.collect()` returned: unreachable objects found. */
  collected: number;
  /** gc.collect() alone, as the target timed it. */
  gcDurationMs?: number;
  /** RSS right after gc.collect(), before the trim, as the target read it. */
  rssAfterCollectBytes?: number;
  /** pymalloc's live blocks (objects ≤ 512 bytes) before and after the collection. */
  allocatedBlocksBefore?: number;
  allocatedBlocksAfter?: number;
  /** Absent when no trim was asked for (or the agent predates it). */
  trim?: PythonHeapTrim;
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
