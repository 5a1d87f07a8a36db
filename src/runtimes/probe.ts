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
  reader?: ProcReader;
  /** Called when a runtime is woken up from outside (SIGUSR1, an attach), for the audit log. */
  onActivate?: (pid: number, detail: string) => void;
}

export interface SnapshotOptions extends ProbeOptions {
  /** Where a snapshot without a path goes (default: the current directory). */
  directory?: string;
  onProgress?: (progress: SnapshotProgress) => void;
}

/** What a runtime's gc reports beyond the RSS, which the dispatcher reads itself. */
export interface RuntimeGcOutcome {
  version?: string;
  /** How it was done, e.g. `inspector (opened with SIGUSR1, closed)`. */
  via: string;
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
}

/** The timeout of `options`, as an adapter passes it on to its runtime's own operation. */
export function timeout(options: { timeoutMs?: number }): { timeoutMs?: number } {
  return options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
}
