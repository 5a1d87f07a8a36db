import type { ProcessSample, SystemSample } from '../sample/index.js';

/** What one tick hands to the store: the machine and every target process, read at `time`. */
export interface SampleBatch {
  /** Wall-clock time of the tick, ms since the epoch. */
  time: number;
  system?: SystemSample;
  processes: ReadonlyArray<{ target: string; sample: ProcessSample }>;
}

/** Something that happened: a rule fired or resolved, an action's result, a gap in the history. */
export interface StoreEvent {
  /** ms since the epoch. */
  time: number;
  /** e.g. `rule-fired`, `rule-resolved`, `action`, `gap`, `samples-dropped`. */
  kind: string;
  target?: string;
  pid?: number;
  startTicks?: number;
  rule?: string;
  message: string;
  /** Stored as JSON; must be JSON-serialisable. */
  details?: unknown;
}

export interface StoredEvent extends StoreEvent {
  id: number;
}

/** One point of a process's history: a raw sample, or the average of a downsampled bucket. */
export interface HistoryPoint {
  /** ms since the epoch; for an averaged bucket, the bucket's start. */
  time: number;
  target: string;
  pid: number;
  startTicks: number;
  rss?: number;
  pss?: number;
  uss?: number;
  swap?: number;
  vms?: number;
  cpuPercent?: number;
  memPercent?: number;
  memLimitPercent?: number;
  threads?: number;
  /** The process's cgroup v2 memory pressure, avg10 %, where the kernel keeps one for it. */
  cgroupPsiSome?: number;
  cgroupPsiFull?: number;
}

export interface HistoryQuery {
  target?: string;
  pid?: number;
  sinceMs: number;
  /** Exclusive; default now. */
  untilMs?: number;
  /** Longer ranges are averaged into at most this many points per process (default 1000). */
  maxPoints?: number;
}

/** The machine at one time, as stored (uptime is not kept). */
export type SystemPoint = Omit<SystemSample, 'uptimeSeconds'>;

export interface TargetSummary {
  target: string;
  firstMs: number;
  lastMs: number;
}

/** Older rows are averaged into buckets of `resolutionMs`. */
export interface DownsampleTier {
  olderThanMs: number;
  resolutionMs: number;
}

export interface StoreOptions {
  /** Move a corrupt file aside and start a new one instead of failing. */
  recreateCorrupt?: boolean;
  /**
   * Make the file's directory when it is missing: only for memwarden's own default location.
   * Otherwise a missing directory is refused, as for every path a user gives.
   */
  createDirectory?: boolean;
  /** Rows older than this are deleted (default 7 days). */
  retainMs?: number;
  /** Default: after 1 h, 1-minute averages; after 1 day, 10-minute averages. `[]` keeps raw rows. */
  downsample?: readonly DownsampleTier[];
  /** Buffered batches are written at least this often (default 1000 ms). */
  flushIntervalMs?: number;
  /** A flush starts early once this many samples are buffered (default 5000). */
  flushSamples?: number;
  /** Samples kept in memory while writes fail; the oldest batches go beyond it (default 200 000). */
  maxBacklogSamples?: number;
  /** Events kept in memory while writes fail (default 10 000). */
  maxBacklogEvents?: number;
  /** How long one SQLite call may wait for a lock (default 50 ms). */
  busyTimeoutMs?: number;
  /** How often retention, downsampling and the WAL checkpoint run (default 60 s; 0 = only by hand). */
  maintenanceIntervalMs?: number;
  /** Time one maintenance run may take before it yields to the next one (default 50 ms). */
  maintenanceBudgetMs?: number;
  /** Called once when writes start failing (not again until they have succeeded). */
  onWriteError?: (error: Error) => void;
  /** Wall clock, ms since the epoch; tests replace it. */
  now?: () => number;
}

export interface StoreStats {
  /** Flushes that failed (busy, disk full, I/O error…). */
  writeErrors: number;
  /** Samples (process and system) that never reached the file because the backlog was full. */
  samplesDropped: number;
  eventsDropped: number;
  /** Batches and samples waiting in memory. */
  pendingBatches: number;
  pendingSamples: number;
  pendingEvents: number;
  batchesWritten: number;
  /** Retention or downsampling runs that failed (they are retried on the next run). */
  maintenanceErrors: number;
  lastBatchId: number;
  lastError?: string;
}

export interface FlushResult {
  ok: boolean;
  /** Ids of the batches this flush committed. */
  batchIds: number[];
  error?: Error;
}

export interface MaintenanceResult {
  deletedRows: number;
  downsampledRows: number;
  /** More work remains after the time budget ran out. */
  more: boolean;
}

/** A supervised target's counters, as the store keeps them across watcher restarts. */
export interface SupervisorRecord {
  name: string;
  /** Wall-clock ms of each restart still inside the window when saved. */
  restartWallMs: number[];
  gaveUp: boolean;
  /** The process it started and left running. */
  child?: { pid: number; startTicks: number };
}

/** When a rule last fired for a process, and whether that episode is still on. */
export interface RuleFiringRecord {
  ruleKey: string;
  pid: number;
  startTicks: number;
  /** Wall-clock ms. */
  firedAtMs: number;
  firing: boolean;
  /** The next step of the rule's escalation chain for this firing; absent when none ran yet. */
  chainStep?: number;
}

/** When a group rule last fired for its target, and whether that episode is still on. */
export interface GroupRuleFiringRecord {
  ruleKey: string;
  target: string;
  /** Wall-clock ms. */
  firedAtMs: number;
  firing: boolean;
  /** The next step of the rule's escalation chain for this firing; absent when none ran yet. */
  chainStep?: number;
}

/** An action about to be carried out. */
export interface ActionIntentRecord {
  /** Wall-clock ms. */
  time: number;
  action: string;
  target: string;
  rule: string;
  pid: number;
  startTicks: number;
}

export interface ActionOutcomeRecord {
  /** Wall-clock ms. */
  time: number;
  ok: boolean;
  code?: string;
  message: string;
}

/** An action a previous watcher began and never recorded the end of: marked `unknown` at start-up. */
export interface UnfinishedAction extends ActionIntentRecord {
  id: number;
}
