/**
 * memwarden as a library: find processes and read them (`listProcesses`, `readSystem`, or a
 * `ProcReader` and `Sampler` for repeated reads), watch them with rules (`Watcher`,
 * `loadConfig`), analyse memory series (`detectTrend`), and keep history (`openStore`).
 */
export {
  detectTrend,
  type MemorySeries,
  type TrendResult,
  type TrendVerdict,
} from './analysis/trend/index.js';
export { type ErrorCode, MemwardenError } from './errors.js';
export { type ProcessRecord, ProcReader, type SystemMemory } from './proc/index.js';
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
export { loadConfig, type WatchConfig } from './watch/config.js';
export { type Tick, Watcher } from './watch/watcher.js';
