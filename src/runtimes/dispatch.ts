import { join } from 'node:path';
import { MemwardenError } from '../errors.js';
import { type ProcessIdentity, ProcReader } from '../proc/index.js';
import { detectRuntime, type RuntimeInfo, type RuntimeKind } from './detect.js';
import { nativeRuntimeProbes, pythonRuntimeProbes } from './foreign-probes.js';
import { inspectorAvailability } from './node/availability.js';
import { nodeCollectGarbage, nodeHeapSnapshot, type SnapshotProgress } from './node/probes.js';

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

export interface GcResult extends RuntimeGcOutcome {
  pid: number;
  startTicks: number;
  runtime: RuntimeKind;
  rssBefore?: number;
  rssAfter?: number;
  durationMs: number;
}

export interface SnapshotResult extends RuntimeSnapshotOutcome {
  pid: number;
  startTicks: number;
  runtime: RuntimeKind;
  path: string;
  durationMs: number;
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

function inspectorVia(activated: boolean, port: number, closed: boolean): string {
  if (!activated) return `its open inspector on port ${port} (left open)`;
  return `inspector on port ${port} (opened with SIGUSR1, ${closed ? 'closed after' : 'COULD NOT BE CLOSED'})`;
}

const nodeProbes: RuntimeProbes = {
  async gc(target, options) {
    const r = await nodeCollectGarbage(target, inspectorOptions(options));
    const outcome: RuntimeGcOutcome = {
      via: inspectorVia(r.activated, r.port, r.inspectorClosed),
      heapUsedBefore: r.heapBefore.heapUsed,
      heapUsedAfter: r.heapAfter.heapUsed,
      heapTotalBefore: r.heapBefore.heapTotal,
      heapTotalAfter: r.heapAfter.heapTotal,
      details: {
        port: r.port,
        activated: r.activated,
        inspectorClosed: r.inspectorClosed,
        activationMs: Math.round(r.activationMs),
        exposureMs: Math.round(r.exposureMs),
      },
    };
    if (r.version) outcome.version = r.version.replace(/^v/, '');
    return outcome;
  },
  async snapshot(target, path, options) {
    const r = await nodeHeapSnapshot(target, path, {
      ...inspectorOptions(options),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const outcome: RuntimeSnapshotOutcome = {
      via: inspectorVia(r.activated, r.port, r.inspectorClosed),
      bytes: r.bytes,
      details: { port: r.port, activated: r.activated, inspectorClosed: r.inspectorClosed },
    };
    if (r.version) outcome.version = r.version.replace(/^v/, '');
    return outcome;
  },
  snapshotExtension: '.heapsnapshot',
  availability(target, reader) {
    const a = inspectorAvailability(target, reader);
    const trim: ProbeAvailability = {
      probe: 'trim',
      possible: false,
      reason: 'malloc_trim is for native processes; use gc for Node.js',
    };
    return [{ probe: 'gc', ...a }, { probe: 'snapshot', ...a }, trim];
  },
};

function inspectorOptions(options: ProbeOptions) {
  return {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.reader ? { reader: options.reader } : {}),
    ...(options.onActivate
      ? {
          onActivate: (pid: number, port: number) =>
            options.onActivate?.(pid, `SIGUSR1, inspector port ${port}`),
        }
      : {}),
  };
}

/** The one dispatch point from a runtime to its probes. */
export const RUNTIME_PROBES: Record<RuntimeKind, RuntimeProbes> = {
  node: nodeProbes,
  python: pythonRuntimeProbes,
  native: nativeRuntimeProbes,
  unknown: {
    availability: () =>
      (['gc', 'snapshot', 'trim'] as const).map((probe) => ({
        probe,
        possible: false,
        reason: 'its executable cannot be read, so its runtime is unknown',
      })),
  },
};

function runtimeLabel(info: RuntimeInfo): string {
  const name = info.runtime === 'node' ? 'Node.js' : info.runtime === 'python' ? 'Python' : info.runtime;
  return info.version ? `${name} ${info.version}` : name;
}

/**
 * Detects a target's runtime and refuses what may not be probed, before anything is sent:
 * a vanished or reused pid (MW_NO_PROCESS), a protected pid or a runtime without this probe
 * (MW_UNSUPPORTED).
 */
export function resolveTarget(
  target: number | ProcessIdentity,
  probe: ProbeName,
  reader: ProcReader,
): { info: RuntimeInfo; probes: RuntimeProbes } {
  const pid = typeof target === 'number' ? target : target.pid;
  const info = detectRuntime(pid, { reader });
  if (!info) throw new MemwardenError('MW_NO_PROCESS', `no process with pid ${pid}`);
  if (typeof target !== 'number' && info.startTicks !== target.startTicks) {
    throw new MemwardenError(
      'MW_NO_PROCESS',
      `pid ${pid} was reused by another process (PID reused); nothing was sent to it`,
    );
  }
  if (info.protectedReason) {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is never probed: ${info.protectedReason}`);
  }
  const probes = RUNTIME_PROBES[info.runtime];
  const supported = probes[probe];
  if (!supported) {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `pid ${pid} (${info.name}) is a ${runtimeLabel(info)} process; '${probe}' does not apply to it, nothing was sent to it`,
    );
  }
  return { info, probes };
}

async function withReader<T>(options: ProbeOptions, body: (reader: ProcReader) => Promise<T>): Promise<T> {
  if (options.reader) return body(options.reader);
  const reader = new ProcReader();
  try {
    return await body(reader);
  } finally {
    reader.close();
  }
}

/** Runs a releasing probe (gc or trim) and reads the RSS from /proc before and after it. */
function release(
  target: number | ProcessIdentity,
  probe: 'gc' | 'trim',
  options: ProbeOptions,
): Promise<GcResult> {
  return withReader(options, async (reader) => {
    const { info, probes } = resolveTarget(target, probe, reader);
    const run = probes[probe];
    if (!run) throw new MemwardenError('MW_UNSUPPORTED', `${probe} is not available for pid ${info.pid}`);
    const started = performance.now();
    const rssBefore = reader.read(info.pid)?.rss;
    const outcome = await run(info, { ...options, reader });
    const rssAfter = reader.read(info.pid)?.rss;
    const result: GcResult = {
      pid: info.pid,
      startTicks: info.startTicks,
      runtime: info.runtime,
      ...(info.version ? { version: info.version } : {}),
      ...outcome,
      durationMs: performance.now() - started,
    };
    if (rssBefore !== undefined) result.rssBefore = rssBefore;
    if (rssAfter !== undefined) result.rssAfter = rssAfter;
    return result;
  });
}

/**
 * Makes a process's own runtime give memory back, and reports its RSS (from /proc) before and
 * after. `target` is a pid, or an identity remembered earlier: a pid reused since is refused.
 */
export function collectGarbage(
  target: number | ProcessIdentity,
  options: ProbeOptions = {},
): Promise<GcResult> {
  return release(target, 'gc', options);
}

/** `malloc_trim` in a native process, with RSS before and after; refused where no runtime offers it. */
export function trimMemory(target: number | ProcessIdentity, options: ProbeOptions = {}): Promise<GcResult> {
  return release(target, 'trim', options);
}

/** The default snapshot file name: `memwarden-<pid>-<time>.<ext>`. */
export function defaultSnapshotName(pid: number, extension: string, now = new Date()): string {
  const time = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `memwarden-${pid}-${time}${extension}`;
}

/** Captures a heap snapshot of a process into `path` (or the default name when undefined). */
export function takeSnapshot(
  target: number | ProcessIdentity,
  path: string | undefined,
  options: SnapshotOptions = {},
): Promise<SnapshotResult> {
  return withReader(options, async (reader) => {
    const { info, probes } = resolveTarget(target, 'snapshot', reader);
    const snapshot = probes.snapshot;
    if (!snapshot)
      throw new MemwardenError('MW_UNSUPPORTED', `snapshot is not available for pid ${info.pid}`);
    const name = defaultSnapshotName(info.pid, probes.snapshotExtension ?? '.json');
    const file = path ?? (options.directory ? join(options.directory, name) : name);
    const started = performance.now();
    const outcome = await snapshot(info, file, { ...options, reader });
    return {
      pid: info.pid,
      startTicks: info.startTicks,
      runtime: info.runtime,
      ...(info.version ? { version: info.version } : {}),
      ...outcome,
      path: file,
      durationMs: performance.now() - started,
    };
  });
}

/** What `inspect` shows: the runtime and, for each probe, whether it can run and why (not). */
export function describeProbes(
  pid: number,
  reader: ProcReader,
): {
  info: RuntimeInfo;
  probes: ProbeAvailability[];
} {
  const info = detectRuntime(pid, { reader });
  if (!info) throw new MemwardenError('MW_NO_PROCESS', `no process with pid ${pid}`);
  if (info.protectedReason) {
    return {
      info,
      probes: (['gc', 'snapshot', 'trim'] as const).map((probe) => ({
        probe,
        possible: false,
        reason: `protected: ${info.protectedReason}`,
      })),
    };
  }
  return { info, probes: RUNTIME_PROBES[info.runtime].availability(info, reader) };
}
