/**
 * memwarden as a library: find processes and read them (`listProcesses`, `readSystem`, or a
 * `ProcReader` and `Sampler` for repeated reads), watch them with rules (`Watcher`,
 * `loadConfig`), release memory inside them (`collectGarbage`, `trimMemory`), guard the current
 * process (`guard`), find leaks (`detectTrend`, `diffSnapshots`, `huntLeaks`), and keep history
 * (`openStore`).
 */
export { diffSnapshots, type HeapDiff, readHeapSnapshot } from './analysis/heap/index.js';
export {
  detectTrend,
  type MemorySeries,
  type TrendResult,
  type TrendVerdict,
} from './analysis/trend/index.js';
export { loadConfig, type WatchConfig } from './config/index.js';
export { type ErrorCode, MemwardenError } from './errors.js';
export { type ProcessRecord, ProcReader, type SystemMemory } from './proc/index.js';
export {
  collectGarbage,
  type GcResult,
  type GuardOptions,
  guard,
  huntLeaks,
  type LeakReport,
  type SnapshotResult,
  takeSnapshot,
  trimMemory,
} from './runtimes/index.js';
export {
  type ListOptions,
  listProcesses,
  type ProcessList,
  type ProcessSample,
  readSystem,
  Sampler,
  type SystemSample,
} from './sample/index.js';
export type { ProcessFilter } from './select/index.js';
export { openStore, type Store } from './store/index.js';
export { formatBytes, parseDuration, parsePercent, parseSize } from './units/index.js';
export { type Cycle, Watcher } from './watch/index.js';
