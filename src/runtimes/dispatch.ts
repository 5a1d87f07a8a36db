import { join } from 'node:path';
import { MemwardenError } from '../errors.js';
import { type ProcessIdentity, ProcReader } from '../proc/index.js';
import { detectRuntime, EXE_UNREADABLE, type RuntimeInfo, type RuntimeKind } from './detect.js';
import type {
  ProbeAvailability,
  ProbeName,
  ProbeOptions,
  RuntimeGcOutcome,
  RuntimeProbes,
  RuntimeSnapshotOutcome,
  SnapshotOptions,
} from './probe.js';
import { type ReleaseFigures, releaseFigures } from './release.js';
import { defaultSnapshotName } from './snapshot-name.js';
import { RUNTIME_PROBES } from './table.js';

/** The public operations: find the target's adapter in the table, run it, measure around it. */

/** A release as a person reads it and a machine checks it: each step, and the RSS figures. */
export interface GcResult extends RuntimeGcOutcome, ReleaseFigures {
  pid: number;
  startTicks: number;
  runtime: RuntimeKind;
  durationMs: number;
}

export interface SnapshotResult extends RuntimeSnapshotOutcome {
  pid: number;
  startTicks: number;
  runtime: RuntimeKind;
  path: string;
  durationMs: number;
}

function runtimeLabel(info: RuntimeInfo): string {
  const name = info.runtime === 'node' ? 'Node.js' : info.runtime === 'python' ? 'Python' : info.runtime;
  return info.version ? `${name} ${info.version}` : name;
}

/**
 * Detects a target's runtime and refuses what may not be probed, before anything is sent:
 * a vanished pid (MW_NO_PROCESS), a reused one (MW_PID_REUSED), a protected one
 * (MW_PROTECTED), or a runtime without this probe (MW_UNSUPPORTED).
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
      'MW_PID_REUSED',
      `pid ${pid} was reused by another process (PID reused); nothing was sent to it`,
    );
  }
  if (info.protectedReason) {
    throw new MemwardenError('MW_PROTECTED', `pid ${pid} is never probed: ${info.protectedReason}`);
  }
  const probes = RUNTIME_PROBES[info.runtime];
  const supported = probes[probe];
  if (!supported && info.runtime === 'unknown') {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `pid ${pid} (${info.name}) runs an unknown runtime: ${info.exeUnreadable ?? EXE_UNREADABLE}; nothing was sent to it`,
    );
  }
  if (!supported) {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `pid ${pid} (${info.name}) is a ${runtimeLabel(info)} process; '${probe}' does not apply to it, nothing was sent to it` +
        (probe === 'gc' && probes.trim ? " ('gc --trim' asks its allocator to give free memory back)" : ''),
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
    return {
      pid: info.pid,
      startTicks: info.startTicks,
      runtime: info.runtime,
      ...(info.version ? { version: info.version } : {}),
      ...outcome,
      ...releaseFigures(info.runtime, outcome, rssBefore, rssAfter),
      durationMs: performance.now() - started,
    };
  });
}

/**
 * Makes a process give memory back to the system: its runtime's collection, then, in the same
 * visit, its allocator's trim (unless `options.trim` is false). Reports each step and the RSS
 * (from /proc) before, after the collection, after the trim and after all. `target` is a pid, or
 * an identity remembered earlier: a pid reused since is refused.
 */
export function collectGarbage(
  target: number | ProcessIdentity,
  options: ProbeOptions = {},
): Promise<GcResult> {
  return release(target, 'gc', options);
}

/**
 * The allocator's trim (malloc_trim, jemalloc purge, tcmalloc release) in a native process; for
 * Node.js and Python the same release as `collectGarbage`, whose last step is that trim.
 */
export function trimMemory(target: number | ProcessIdentity, options: ProbeOptions = {}): Promise<GcResult> {
  return release(target, 'trim', options);
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
  /** The release steps as they would go here; empty when nothing can be released. */
  release: string[];
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
      release: [],
    };
  }
  const adapter = RUNTIME_PROBES[info.runtime];
  return { info, probes: adapter.availability(info, reader), release: adapter.releasePlan?.(info) ?? [] };
}
