import type { ProcReader } from '../proc/index.js';
import type { RuntimeInfo } from './detect.js';
import type { SnapshotProgress } from './node/probes.js';

/**
 * The one probe interface: what each runtime's adapter (node/, python/, native/) offers to the
 * operations in dispatch.ts, and the shapes they hand back.
 */

export type ProbeName = 'gc' | 'snapshot' | 'trim';

export interface ProbeOptions {
  /** The whole operation. */
  timeoutMs?: number;
  /**
   * gc: after the collection, hand the heap's free pages back to the system (malloc_trim or the
   * allocator's own call) in the same visit. Default true; false is the collection alone.
   */
  trim?: boolean;
  reader?: ProcReader;
  /** Called when a runtime is woken up from outside (SIGUSR1, an attach), for the audit log. */
  onActivate?: (pid: number, detail: string) => void;
}

export interface SnapshotOptions extends ProbeOptions {
  /** Where a snapshot without a path goes (default: the current directory). */
  directory?: string;
  onProgress?: (progress: SnapshotProgress) => void;
}

/** The two steps of giving memory back: the runtime frees objects, the allocator frees pages. */
export type ReleaseStepName = 'collect' | 'trim';

/** One release step as it went: run (with RSS around it), skipped (and why), or failed. */
export interface ReleaseStep {
  step: ReleaseStepName;
  /** True when the step ran to its end. */
  ran: boolean;
  /** How it was done: `inspector on port 9229 (…)`, `malloc_trim(0) through lldb`. */
  via?: string;
  /** Why it was not done, when it was not tried. */
  skipped?: string;
  /** Why it failed, when it was tried; the figures of the steps before it still hold. */
  error?: string;
  /** Stable code of the failure (MW_TIMEOUT, MW_PERMISSION…). */
  code?: string;
  rssBefore?: number;
  rssAfter?: number;
  durationMs?: number;
  /** The allocator driven by a trim: glibc, jemalloc, tcmalloc. */
  allocator?: string;
  /** Step facts: objects collected, the call's return value, V8 heap used… */
  details?: Record<string, unknown>;
}

/** A step that was not done, and why. */
export function skippedStep(step: ReleaseStepName, why: string): ReleaseStep {
  return { step, ran: false, skipped: why };
}

/** What a runtime's gc reports beyond the RSS, which the dispatcher reads itself. */
export interface RuntimeGcOutcome {
  version?: string;
  /** How it was done, e.g. `inspector (opened with SIGUSR1, closed)`. */
  via: string;
  /** collect, then trim, in the order they happened. */
  steps: ReleaseStep[];
  heapUsedBefore?: number;
  heapUsedAfter?: number;
  heapTotalBefore?: number;
  heapTotalAfter?: number;
  /** Runtime-specific facts worth a log line (inspector port, objects collected…). */
  details?: Record<string, unknown>;
}

export interface RuntimeSnapshotOutcome {
  version?: string;
  via: string;
  bytes: number;
  details?: Record<string, unknown>;
}

export interface ProbeAvailability {
  probe: ProbeName;
  possible: boolean;
  via?: string;
  reason: string;
}

/**
 * What one runtime can do. The dispatcher has already checked identity, protection and the
 * runtime before calling; each method still re-checks identity right before it acts.
 */
export interface RuntimeProbes {
  gc?(target: RuntimeInfo, options: ProbeOptions): Promise<RuntimeGcOutcome>;
  /** `malloc_trim(0)` or the like: gives the C heap's free pages back; opt-in, it is intrusive. */
  trim?(target: RuntimeInfo, options: ProbeOptions): Promise<RuntimeGcOutcome>;
  snapshot?(target: RuntimeInfo, path: string, options: SnapshotOptions): Promise<RuntimeSnapshotOutcome>;
  /** The file extension of this runtime's snapshots, with the dot. */
  snapshotExtension?: string;
  availability(target: RuntimeInfo, reader: ProcReader): ProbeAvailability[];
  /**
   * What giving memory back does in this process, step by step, and what does not work here:
   * `inspect` prints it. Never attaches.
   */
  releasePlan?(target: RuntimeInfo): string[];
}

/** The timeout of `options`, as an adapter passes it on to its runtime's own operation. */
export function timeout(options: { timeoutMs?: number }): { timeoutMs?: number } {
  return options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
}
