/**
 * runtimes: talking to a running process's runtime. Detects whether a pid runs Node.js, Python
 * or native code (from its executable, never its name), refuses protected and reused pids, and
 * dispatches gc and snapshot to the runtime's own probe; each probe is bounded in time and
 * leaves the target as it found it. `guard` is the same for the current process, from inside.
 */

export { Deadline } from './deadline.js';
export { findLldb, findOnPath, ptracePreflight } from './debugger.js';
export {
  assertSameProcess,
  detectRuntime,
  protectedReason,
  type RuntimeInfo,
  type RuntimeKind,
} from './detect.js';
export {
  collectGarbage,
  describeProbes,
  type GcResult,
  resolveTarget,
  type SnapshotResult,
  takeSnapshot,
  trimMemory,
} from './dispatch.js';
export {
  collectOwnGarbage,
  exposedGc,
  type GcEvent,
  Guard,
  type GuardEvents,
  type GuardOptions,
  guard,
  type LeakEvent,
  type LeakOptions,
  type MemoryReading,
  type ThresholdEvent,
} from './guard.js';
export { type HuntOptions, huntLeaks, type LeakGrowth, type LeakReport } from './leak-hunt.js';
export type { SnapshotProgress } from './node/index.js';
export type {
  ProbeAvailability,
  ProbeName,
  ProbeOptions,
  ReleaseStep,
  ReleaseStepName,
  RuntimeGcOutcome,
  RuntimeProbes,
  RuntimeSnapshotOutcome,
  SnapshotOptions,
} from './probe.js';
export { type ReleaseFigures, releaseLine, stepFreed, stepLine } from './release.js';
export { defaultSnapshotName } from './snapshot-name.js';
export { RUNTIME_PROBES } from './table.js';
