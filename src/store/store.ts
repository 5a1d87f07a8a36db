import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { MemwardenError } from '../errors.js';
import { openDatabase } from './database.js';
import { HistoryFile } from './history-file.js';
import { DEFAULT_TIERS, Maintenance } from './maintenance.js';
import { Sessions, type Unfinished } from './sessions.js';
import type {
  ActionIntentRecord,
  ActionOutcomeRecord,
  FlushResult,
  GroupRuleFiringRecord,
  MaintenanceResult,
  RuleFiringRecord,
  SampleBatch,
  StoreEvent,
  StoreOptions,
  StoreStats,
  SupervisorRecord,
} from './types.js';
import { asError, StoreWriter } from './writer.js';

const DAY_MS = 86_400_000;

type ResolvedOptions = Required<
  Omit<StoreOptions, 'onWriteError' | 'now' | 'recreateCorrupt' | 'createDirectory'>
> &
  Pick<StoreOptions, 'onWriteError'>;

/** Bad numbers here would turn into bad SQL or a busy loop, so they are refused up front. */
function checkOptions(options: ResolvedOptions): void {
  const positive: Array<[string, number]> = [
    ['retainMs', options.retainMs],
    ['flushIntervalMs', options.flushIntervalMs],
    ['flushSamples', options.flushSamples],
    ['maxBacklogSamples', options.maxBacklogSamples],
    ['maxBacklogEvents', options.maxBacklogEvents],
  ];
  for (const tier of options.downsample) {
    positive.push(
      ['downsample olderThanMs', tier.olderThanMs],
      ['downsample resolutionMs', tier.resolutionMs],
    );
  }
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new MemwardenError(
        'MW_BAD_VALUE',
        `store option ${name} must be a positive whole number, not ${value}`,
      );
    }
  }
  for (const [name, value] of [
    ['busyTimeoutMs', options.busyTimeoutMs],
    ['maintenanceIntervalMs', options.maintenanceIntervalMs],
    ['maintenanceBudgetMs', options.maintenanceBudgetMs],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new MemwardenError(
        'MW_BAD_VALUE',
        `store option ${name} must be a whole number ≥ 0, not ${value}`,
      );
    }
  }
}

/**
 * The history file of one watcher. Writes are buffered and committed in one transaction per
 * flush (see `StoreWriter`); while the file cannot be written (locked, disk full) batches wait in
 * a bounded backlog and `append` keeps returning at once. better-sqlite3 is synchronous, so every
 * call that may wait for a lock waits at most `busyTimeoutMs`: the event loop is never held for
 * the library's 5 s default (scenario 28). That bound is why the writes stay on the main thread
 * instead of a worker: a flush is a few milliseconds of inserts, and copying every sample to a
 * worker would cost about as much as writing it.
 */
export class Store extends HistoryFile {
  private readonly options: ResolvedOptions;
  private readonly recreateCorrupt: boolean;
  private readonly createDirectory: boolean;
  private maintenance: Maintenance;
  private fileIdentity: { dev: number; ino: number } | undefined;
  private readonly writer: StoreWriter;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly sessions: Sessions;
  private nextActionId = 0;
  private closed = false;

  constructor(path: string, options: StoreOptions = {}) {
    const now = options.now ?? Date.now;
    const resolved: ResolvedOptions = {
      retainMs: options.retainMs ?? 7 * DAY_MS,
      downsample: options.downsample ?? DEFAULT_TIERS,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      flushSamples: options.flushSamples ?? 5000,
      maxBacklogSamples: options.maxBacklogSamples ?? 200_000,
      maxBacklogEvents: options.maxBacklogEvents ?? 10_000,
      busyTimeoutMs: options.busyTimeoutMs ?? 50,
      maintenanceIntervalMs: options.maintenanceIntervalMs ?? 60_000,
      maintenanceBudgetMs: options.maintenanceBudgetMs ?? 50,
      onWriteError: options.onWriteError,
    };
    checkOptions(resolved);
    const recreateCorrupt = options.recreateCorrupt ?? false;
    const createDirectory = options.createDirectory ?? false;
    super(path, openWritable(path, resolved, recreateCorrupt, createDirectory, now()), now);
    this.options = resolved;
    this.recreateCorrupt = recreateCorrupt;
    this.createDirectory = createDirectory;
    this.maintenance = new Maintenance(this.db, this.options.downsample);
    this.writer = new StoreWriter(this.db, { ...this.options, now: this.now });
    this.nextActionId = this.writer.state.nextActionId();
    this.fileIdentity = this.identityOnDisk();
    this.sessions = new Sessions(this.writer, this.now);
    this.sessions.start(this.db);
    if (this.options.maintenanceIntervalMs > 0) {
      this.timers.push(setInterval(() => this.maintain(), this.options.maintenanceIntervalMs).unref());
    }
  }

  /** Actions the previous watcher began and never finished: marked `unknown` when this one opened. */
  get unfinishedActions(): Unfinished {
    return this.sessions.unfinished;
  }

  private openFile(): Database.Database {
    return openWritable(this.path, this.options, this.recreateCorrupt, this.createDirectory, this.now());
  }

  private identityOnDisk(): { dev: number; ino: number } | undefined {
    const st = statSync(this.path, { throwIfNoEntry: false });
    return st && { dev: st.dev, ino: st.ino };
  }

  /**
   * SQLite keeps writing to an unlinked or renamed file without complaint, so a history file
   * deleted or replaced under a running watcher would silently lose everything (scenario 30).
   */
  private reopenIfReplaced(): void {
    const now = this.identityOnDisk();
    const was = this.fileIdentity;
    if (now && was && now.dev === was.dev && now.ino === was.ino) return;
    const db = this.openFile();
    this.writer.noteWriteError(
      new Error(`${this.path} was removed or replaced while open; started a new history file`),
    );
    this.db.close();
    this.db = db;
    this.maintenance = new Maintenance(this.db, this.options.downsample);
    this.writer.attach(this.db);
    this.fileIdentity = this.identityOnDisk();
    this.sessions.start(this.db);
  }

  /**
   * Queues one tick's samples and returns the id the batch will be stored under. Never throws
   * and never waits for the file.
   */
  append(batch: SampleBatch): number {
    return this.writer.append(batch);
  }

  /** Queues an event (rule fired/resolved, action result) for the next flush. Never throws. */
  appendEvent(event: StoreEvent): void {
    this.writer.appendEvent(event);
  }

  /** Writes what is buffered now (see `StoreWriter.flush`). */
  flush(): FlushResult {
    return this.writer.flush();
  }

  /** A supervised target's saved counters, or undefined when it has none. */
  supervisor(name: string): SupervisorRecord | undefined {
    return this.writer.state.supervisor(name);
  }

  /** Committed before this returns (unless the file is failing): a restart is counted before it happens. */
  saveSupervisor(record: SupervisorRecord): void {
    const nowMs = this.now();
    this.writer.writeState((t) => t.saveSupervisor(record, nowMs));
    this.writer.commitState();
  }

  /** Every remembered rule firing. */
  ruleFirings(): RuleFiringRecord[] {
    return this.writer.state.ruleFirings();
  }

  saveRuleFiring(record: RuleFiringRecord): void {
    this.writer.writeState((t) => t.saveRuleFiring(record));
  }

  clearRuleFiring(ruleKey: string, pid: number, startTicks: number): void {
    this.writer.writeState((t) => t.clearRuleFiring(ruleKey, pid, startTicks));
  }

  forgetRuleFirings(pid: number, startTicks: number): void {
    this.writer.writeState((t) => t.forgetRuleFirings(pid, startTicks));
  }

  /**
   * Where a rule's escalation chain got for its current firing (the next step's index), committed
   * at once: a watcher killed between two steps resumes at the next one, not at the top.
   */
  saveChainStep(ruleKey: string, pid: number, startTicks: number, nextStep: number): void {
    this.writer.writeState((t) => t.saveChainStep(ruleKey, pid, startTicks, nextStep));
    this.writer.commitState();
  }

  /** Every remembered group rule firing, by rule and target. */
  groupRuleFirings(): GroupRuleFiringRecord[] {
    return this.writer.state.groupRuleFirings();
  }

  saveGroupRuleFiring(ruleKey: string, target: string, firedAtMs: number): void {
    this.writer.writeState((t) => t.saveGroupRuleFiring(ruleKey, target, firedAtMs));
  }

  clearGroupRuleFiring(ruleKey: string, target: string): void {
    this.writer.writeState((t) => t.clearGroupRuleFiring(ruleKey, target));
  }

  forgetGroupRuleFirings(ruleKey: string): void {
    this.writer.writeState((t) => t.forgetGroupRuleFirings(ruleKey));
  }

  /** As `saveChainStep`, for a group rule's chain: committed at once. */
  saveGroupChainStep(ruleKey: string, target: string, nextStep: number): void {
    this.writer.writeState((t) => t.saveGroupChainStep(ruleKey, target, nextStep));
    this.writer.commitState();
  }

  /**
   * Journals an action before it is carried out and returns its id for `endAction`. The row is
   * committed before this returns unless the file is failing; then it waits with the rest, and
   * the action goes ahead all the same: bookkeeping never holds back an action.
   */
  beginAction(intent: ActionIntentRecord): number {
    if (this.closed) return 0;
    const id = this.nextActionId++;
    this.writer.writeState((t) => t.beginAction(id, intent));
    this.writer.commitState();
    return id;
  }

  endAction(id: number, outcome: ActionOutcomeRecord): void {
    this.writer.writeState((t) => t.endAction(id, outcome));
  }

  /**
   * Retention, downsampling and a WAL checkpoint, within `maintenanceBudgetMs`; runs on its own
   * timer and may be called by hand. A file that was deleted or replaced under us is reopened.
   */
  maintain(): MaintenanceResult {
    const empty: MaintenanceResult = { deletedRows: 0, downsampledRows: 0, more: false };
    if (this.closed) return empty;
    const writer = this.writer;
    try {
      this.reopenIfReplaced();
      const result = this.maintenance.run({
        retainMs: this.options.retainMs,
        budgetMs: this.options.maintenanceBudgetMs,
        nowMs: this.now(),
        onProcessesDeleted: () => writer.forgetProcessIds(),
      });
      // TRUNCATE waits for readers only up to the busy timeout; a busy result is retried next time.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      return result;
    } catch (err) {
      writer.counters.maintenanceErrors++;
      writer.counters.lastError = asError(err).message;
      return empty;
    }
  }

  stats(): StoreStats {
    return this.writer.stats();
  }

  /**
   * Flushes what is buffered, marks the session closed and closes the file. Never throws; what
   * could not be written shows in the returned `pendingSamples`.
   */
  override close(): StoreStats {
    if (this.closed) return this.stats();
    for (const timer of this.timers) clearInterval(timer);
    // Left open when samples are lost, so that the next start records the gap.
    if (this.writer.close()) this.sessions.close(this.db);
    this.closed = true;
    const stats = this.stats();
    this.db.close();
    return stats;
  }
}

function openWritable(
  path: string,
  options: ResolvedOptions,
  recreateCorrupt: boolean,
  createDirectory: boolean,
  nowMs: number,
): Database.Database {
  return openDatabase(path, {
    readonly: false,
    recreateCorrupt,
    createDirectory,
    busyTimeoutMs: options.busyTimeoutMs,
    nowMs,
  });
}

/** Opens the history file at `path` for a watcher, creating and migrating it when needed; see `openHistory` to read one. */
export function openStore(path: string, options: StoreOptions = {}): Store {
  return new Store(path, options);
}
