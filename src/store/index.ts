/**
 * The history: one embedded SQLite file (WAL) per watcher holding process and machine samples,
 * the processes they belong to (command lines with secrets masked) and events. This part owns
 * the file's schema and its migrations, the watcher's memory across its restarts (supervisor
 * counters, rule cooldowns, the action journal), batched and bounded writes that never hold the event
 * loop for long, retention and downsampling, recovery from a corrupt or replaced file, and the
 * bounded queries the CLI, the dashboard and reports read through. It knows nothing of who asks.
 */

export { JOURNAL_SIZE_LIMIT_BYTES } from './database.js';
export { type HistoryFile, openHistory } from './history-file.js';
export { HistoryReader, type HistoryReaderOptions } from './history-reader.js';
export { DEFAULT_TIERS } from './maintenance.js';
export { defaultStorePath } from './paths.js';
export { DEFAULT_MAX_POINTS, ROW_LIMIT } from './queries.js';
export { SCHEMA_VERSION } from './schema.js';
export { openStore, Store } from './store.js';
export type {
  ActionIntentRecord,
  ActionOutcomeRecord,
  DownsampleTier,
  FlushResult,
  GroupRuleFiringRecord,
  HistoryPoint,
  HistoryQuery,
  MaintenanceResult,
  RuleFiringRecord,
  SampleBatch,
  StoredEvent,
  StoreEvent,
  StoreOptions,
  StoreStats,
  SupervisorRecord,
  SystemPoint,
  TargetSummary,
  UnfinishedAction,
} from './types.js';
