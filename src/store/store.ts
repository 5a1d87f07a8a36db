import { statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { MemwardenError } from '../errors.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { storedCmdline } from './cmdline.js';
import { openDatabase } from './database.js';
import { DEFAULT_TIERS, Maintenance } from './maintenance.js';
import { queryEvents, queryHistory, querySystem, queryTargets } from './queries.js';
import { StateTables } from './state-tables.js';
import type {
  ActionIntentRecord,
  ActionOutcomeRecord,
  FlushResult,
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

const DAY_MS = 86_400_000;
const MAX_RETRY_DELAY_MS = 5000;
/** Identity cache entries; beyond this the cache starts over (ids are then looked up again). */
const MAX_CACHED_PROCESSES = 20_000;

type ResolvedOptions = Required<
  Omit<StoreOptions, 'onWriteError' | 'now' | 'readonly' | 'recreateCorrupt' | 'createDirectory'>
> &
  Pick<StoreOptions, 'onWriteError'>;

interface PendingBatch {
  id: number;
  time: number;
  system: SystemSample | undefined;
  processes: SampleBatch['processes'];
  samples: number;
}

interface PendingEvent {
  event: StoreEvent;
  detailsJson: string | null;
}

type StateWrite = (tables: StateTables) => void;

interface CachedProcess {
  id: number;
  name: string;
  cmdline: readonly string[];
}

function sameArgv(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function detailsToJson(details: unknown): string | null {
  if (details === undefined) return null;
  try {
    return JSON.stringify(details) ?? null;
  } catch {
    // A cycle or a BigInt in details must not cost the event itself.
    return JSON.stringify({ unserialisable: true });
  }
}

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

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The history file of one watcher. Writes are buffered and committed in one transaction per
 * flush; while the file cannot be written (locked, disk full) batches wait in a bounded backlog
 * and `append` keeps returning at once. better-sqlite3 is synchronous, so every call that may
 * wait for a lock waits at most `busyTimeoutMs`: the event loop is never held for the library's
 * 5 s default (scenario 28). That bound is why the writes stay on the main thread instead of a
 * worker: a flush is a few milliseconds of inserts, and copying every sample to a worker would
 * cost about as much as writing it.
 */
export class Store {
  readonly path: string;
  private db: Database.Database;
  private readonly options: ResolvedOptions;
  private readonly readonly: boolean;
  private readonly now: () => number;
  private readonly recreateCorrupt: boolean;
  private readonly createDirectory: boolean;
  private maintenance: Maintenance;
  private fileIdentity: { dev: number; ino: number } | undefined;

  private pending: PendingBatch[] = [];
  private pendingSamples = 0;
  private pendingEvents: PendingEvent[] = [];
  private nextBatchId: number;
  private failing = false;
  private retryDelayMs: number;
  private nextAttemptAt = 0;
  /** Drops not yet recorded in the file as a `gap` event. */
  private unreportedDrops = { samples: 0, events: 0, fromMs: 0, toMs: 0 };
  private readonly targetIds = new Map<string, number>();
  private readonly processIds = new Map<string, CachedProcess>();
  private readonly timers: NodeJS.Timeout[] = [];
  private flushScheduled = false;
  private state: StateTables | null;
  /** State writes not yet committed: replayed in order by the next commit or flush. */
  private stateQueue: StateWrite[] = [];
  private stateCommitScheduled = false;
  private nextActionId = 0;
  /** Actions the previous watcher began and never finished: marked `unknown` when this one opened. */
  readonly unfinishedActions: { listed: UnfinishedAction[]; count: number } = { listed: [], count: 0 };
  private sessionId = 0;
  private closed = false;
  private readonly counters = {
    writeErrors: 0,
    samplesDropped: 0,
    eventsDropped: 0,
    batchesWritten: 0,
    maintenanceErrors: 0,
    lastBatchId: 0,
    lastError: undefined as string | undefined,
  };

  private statements: {
    insertBatch: Database.Statement;
    upsertTarget: Database.Statement;
    upsertProcess: Database.Statement;
    insertProcessSample: Database.Statement;
    insertSystemSample: Database.Statement;
    insertEvent: Database.Statement;
  } | null;

  constructor(path: string, options: StoreOptions = {}) {
    this.path = path;
    this.readonly = options.readonly ?? false;
    this.now = options.now ?? Date.now;
    this.options = {
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
    checkOptions(this.options);
    this.retryDelayMs = this.options.flushIntervalMs;
    this.recreateCorrupt = options.recreateCorrupt ?? false;
    this.createDirectory = options.createDirectory ?? false;
    this.db = this.openFile();
    this.maintenance = new Maintenance(this.db, this.options.downsample);
    this.nextBatchId = this.readonly
      ? 0
      : ((this.db.prepare('SELECT max(id) FROM batches').pluck().get() as number | null) ?? 0) + 1;
    if (this.readonly) {
      this.statements = null;
      this.state = null;
      this.fileIdentity = undefined;
      return;
    }
    this.statements = this.prepareWrites();
    this.state = new StateTables(this.db);
    this.nextActionId = this.state.nextActionId();
    this.fileIdentity = this.identityOnDisk();
    this.startSession();
    this.timers.push(setInterval(() => this.tick(), this.options.flushIntervalMs).unref());
    if (this.options.maintenanceIntervalMs > 0) {
      this.timers.push(setInterval(() => this.maintain(), this.options.maintenanceIntervalMs).unref());
    }
  }

  private openFile(): Database.Database {
    return openDatabase(this.path, {
      readonly: this.readonly,
      recreateCorrupt: this.recreateCorrupt,
      createDirectory: this.createDirectory,
      busyTimeoutMs: this.options.busyTimeoutMs,
      nowMs: this.now(),
    });
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
    this.noteWriteError(
      new Error(`${this.path} was removed or replaced while open; started a new history file`),
    );
    this.db.close();
    this.db = db;
    this.maintenance = new Maintenance(this.db, this.options.downsample);
    this.statements = this.prepareWrites();
    this.state = new StateTables(this.db);
    this.fileIdentity = this.identityOnDisk();
    this.targetIds.clear();
    this.processIds.clear();
    this.startSession();
  }

  private prepareWrites(): NonNullable<Store['statements']> {
    const db = this.db;
    return {
      insertBatch: db.prepare('INSERT OR IGNORE INTO batches (id, time, samples) VALUES (?, ?, ?)'),
      upsertTarget: db.prepare(
        'INSERT INTO targets (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id',
      ),
      // A process that exec'd keeps its pid and start time but shows a new name and cmdline.
      upsertProcess: db.prepare(
        `INSERT INTO processes (pid, start_ticks, name, cmdline, first_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pid, start_ticks) DO UPDATE SET name = excluded.name, cmdline = excluded.cmdline
         RETURNING id`,
      ),
      insertProcessSample: db.prepare(
        `INSERT INTO process_samples (time, target_id, process_id, batch_id, rss, pss, uss, swap, vms,
           cpu_percent, mem_percent, mem_limit_percent, threads)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertSystemSample: db.prepare(
        `INSERT INTO system_samples (time, batch_id, mem_total, mem_available, mem_used, mem_percent,
           swap_total, swap_free, cpu_count, cpu_percent, load1, load5, load15)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertEvent: db.prepare(
        `INSERT INTO events (time, kind, target, pid, start_ticks, rule, message, details)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  /** A session left open by the last run means it was killed: its unflushed tail is a gap. */
  private startSession(): void {
    const nowMs = this.now();
    let unfinished: { listed: UnfinishedAction[]; count: number } = { listed: [], count: 0 };
    try {
      this.db
        .transaction(() => {
          unfinished = this.state?.closeUnfinished(nowMs) ?? unfinished;
          const open = this.db.prepare('SELECT count(*) FROM sessions WHERE closed_at IS NULL').pluck().get();
          if (open !== 0) {
            const crashedAfterMs =
              (this.db.prepare('SELECT max(time) FROM batches').pluck().get() as number | null) ?? nowMs;
            this.db.prepare('UPDATE sessions SET closed_at = ? WHERE closed_at IS NULL').run(crashedAfterMs);
            // In the same transaction that closes the crashed session: a gap only queued here
            // would be lost if this run died before its first flush, and the next start would
            // find no open session to tell it.
            this.statements?.insertEvent.run(
              nowMs,
              'gap',
              null,
              null,
              null,
              null,
              'the previous watcher stopped without closing the history; samples after its last batch are missing',
              JSON.stringify({ fromMs: crashedAfterMs, toMs: nowMs }),
            );
          }
          this.sessionId = Number(
            this.db.prepare('INSERT INTO sessions (started_at) VALUES (?)').run(nowMs).lastInsertRowid,
          );
        })
        .immediate();
    } catch (err) {
      // Only bookkeeping: a busy file at start must not stop sampling.
      this.noteWriteError(asError(err));
      return;
    }
    Object.assign(this.unfinishedActions, unfinished);
    for (const action of unfinished.listed) {
      this.appendEvent({
        time: nowMs,
        kind: 'action',
        target: action.target,
        pid: action.pid,
        startTicks: action.startTicks,
        rule: action.rule,
        message: `${action.action}: outcome unknown: the previous watcher stopped before it reported back`,
        details: { ok: false, code: 'UNKNOWN', startedAt: action.time },
      });
    }
  }

  /**
   * Queues one tick's samples and returns the id the batch will be stored under. Never throws
   * and never waits for the file.
   */
  append(batch: SampleBatch): number {
    if (this.readonly || this.closed) return 0;
    const samples = batch.processes.length + (batch.system ? 1 : 0);
    const id = this.nextBatchId++;
    this.pending.push({ id, time: batch.time, system: batch.system, processes: batch.processes, samples });
    this.pendingSamples += samples;
    while (this.pendingSamples > this.options.maxBacklogSamples && this.pending.length > 1) {
      const dropped = this.pending.shift();
      if (!dropped) break;
      this.pendingSamples -= dropped.samples;
      this.counters.samplesDropped += dropped.samples;
      this.noteDrop(dropped.samples, 0, dropped.time);
    }
    if (this.pendingSamples >= this.options.flushSamples) this.scheduleFlush();
    return id;
  }

  /** Queues an event (rule fired/resolved, action result) for the next flush. Never throws. */
  appendEvent(event: StoreEvent): void {
    if (this.readonly || this.closed) return;
    this.pendingEvents.push({ event, detailsJson: detailsToJson(event.details) });
    if (this.pendingEvents.length > this.options.maxBacklogEvents) {
      const dropped = this.pendingEvents.shift();
      this.counters.eventsDropped++;
      this.noteDrop(0, 1, dropped?.event.time ?? event.time);
    }
  }

  private noteDrop(samples: number, events: number, timeMs: number): void {
    const d = this.unreportedDrops;
    if (d.samples === 0 && d.events === 0) d.fromMs = timeMs;
    d.samples += samples;
    d.events += events;
    d.toMs = timeMs;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || performance.now() < this.nextAttemptAt) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (!this.closed) this.flush();
    });
  }

  private tick(): void {
    if (performance.now() >= this.nextAttemptAt) this.flush();
  }

  /**
   * Writes the buffered batches, up to `flushSamples` samples of them, and all buffered events in
   * one transaction; a larger backlog (after a lock or a full disk) goes out in further flushes,
   * each on its own turn of the event loop, so that no single one holds it long. On failure
   * nothing is lost yet: the batches stay queued and the next attempt comes after a growing delay.
   */
  flush(): FlushResult {
    const statements = this.statements;
    if (!statements || this.closed) return { ok: true, batchIds: [] };
    if (this.pending.length === 0 && this.pendingEvents.length === 0 && this.stateQueue.length === 0)
      return { ok: true, batchIds: [] };
    const drops = this.unreportedDrops;
    const events = [...this.pendingEvents];
    if (drops.samples > 0 || drops.events > 0) {
      const details = {
        samplesDropped: drops.samples,
        eventsDropped: drops.events,
        fromMs: drops.fromMs,
        toMs: drops.toMs,
      };
      events.push({
        event: {
          time: this.now(),
          kind: 'gap',
          message: `${drops.samples} samples and ${drops.events} events were dropped while the history file could not be written`,
          details,
        },
        detailsJson: JSON.stringify(details),
      });
    }
    let take = 0;
    let takenSamples = 0;
    for (const batch of this.pending) {
      if (take > 0 && takenSamples + batch.samples > this.options.flushSamples) break;
      take++;
      takenSamples += batch.samples;
    }
    const batches = this.pending.slice(0, take);
    const written: number[] = [];
    const stateWrites = this.stateQueue.length;
    try {
      this.db
        .transaction(() => {
          this.replayState(stateWrites);
          for (const batch of batches) {
            // The id makes a retried batch harmless: one that is already stored is skipped.
            if (statements.insertBatch.run(batch.id, batch.time, batch.samples).changes === 0) continue;
            this.writeBatch(statements, batch);
            written.push(batch.id);
          }
          for (const { event, detailsJson } of events) {
            statements.insertEvent.run(
              event.time,
              event.kind,
              event.target ?? null,
              event.pid ?? null,
              event.startTicks ?? null,
              event.rule ?? null,
              event.message,
              detailsJson,
            );
          }
        })
        .immediate();
    } catch (err) {
      // Ids cached during the rolled-back transaction may not exist in the file.
      this.targetIds.clear();
      this.processIds.clear();
      const error = asError(err);
      this.backOff(error);
      return { ok: false, batchIds: [], error };
    }
    this.stateQueue.splice(0, stateWrites);
    this.pending = this.pending.slice(take);
    this.pendingSamples -= takenSamples;
    this.pendingEvents = [];
    this.unreportedDrops = { samples: 0, events: 0, fromMs: 0, toMs: 0 };
    this.counters.batchesWritten += written.length;
    const last = batches[batches.length - 1];
    if (last) this.counters.lastBatchId = last.id;
    this.failing = false;
    this.retryDelayMs = this.options.flushIntervalMs;
    this.nextAttemptAt = 0;
    if (this.pending.length > 0) this.scheduleFlush();
    return { ok: true, batchIds: written };
  }

  /** A write failed: nothing is tried again before a delay that doubles with each failure. */
  private backOff(error: Error): void {
    this.noteWriteError(error);
    this.nextAttemptAt = performance.now() + this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  }

  private noteWriteError(error: Error): void {
    this.counters.writeErrors++;
    this.counters.lastError = error.message;
    if (!this.failing) {
      this.failing = true;
      this.options.onWriteError?.(error);
    }
  }

  private writeBatch(statements: NonNullable<Store['statements']>, batch: PendingBatch): void {
    const s = batch.system;
    if (s) {
      statements.insertSystemSample.run(
        batch.time,
        batch.id,
        s.memTotal,
        s.memAvailable,
        s.memUsed,
        s.memPercent,
        s.swapTotal,
        s.swapFree,
        s.cpuCount,
        s.cpuPercent ?? null,
        s.load1,
        s.load5,
        s.load15,
      );
    }
    for (const { target, sample: p } of batch.processes) {
      statements.insertProcessSample.run(
        p.time,
        this.targetId(statements, target),
        this.processId(statements, p),
        batch.id,
        p.rss ?? null,
        p.pss ?? null,
        p.uss ?? null,
        p.swap ?? null,
        p.vms ?? null,
        p.cpuPercent ?? null,
        p.memPercent ?? null,
        p.memLimitPercent ?? null,
        p.threads,
      );
    }
  }

  private targetId(statements: NonNullable<Store['statements']>, name: string): number {
    let id = this.targetIds.get(name);
    if (id === undefined) {
      id = statements.upsertTarget.pluck().get(name) as number;
      this.targetIds.set(name, id);
    }
    return id;
  }

  private processId(statements: NonNullable<Store['statements']>, p: ProcessSample): number {
    const key = `${p.pid}:${p.startTicks}`;
    const cached = this.processIds.get(key);
    if (cached && cached.name === p.name && sameArgv(cached.cmdline, p.cmdline)) return cached.id;
    if (this.processIds.size >= MAX_CACHED_PROCESSES) this.processIds.clear();
    const id = statements.upsertProcess
      .pluck()
      .get(p.pid, p.startTicks, p.name, storedCmdline(p.cmdline), p.time) as number;
    this.processIds.set(key, { id, name: p.name, cmdline: p.cmdline });
    return id;
  }

  /** A supervised target's saved counters, or undefined when it has none (or the file is read-only). */
  supervisor(name: string): SupervisorRecord | undefined {
    return this.state?.supervisor(name);
  }

  /** Committed before this returns (unless the file is failing): a restart is counted before it happens. */
  saveSupervisor(record: SupervisorRecord): void {
    const nowMs = this.now();
    this.writeState((t) => t.saveSupervisor(record, nowMs));
    this.commitState();
  }

  /** Every remembered rule firing. */
  ruleFirings(): RuleFiringRecord[] {
    return this.state?.ruleFirings() ?? [];
  }

  saveRuleFiring(record: RuleFiringRecord): void {
    this.writeState((t) => t.saveRuleFiring(record));
  }

  clearRuleFiring(ruleKey: string, pid: number, startTicks: number): void {
    this.writeState((t) => t.clearRuleFiring(ruleKey, pid, startTicks));
  }

  forgetRuleFirings(pid: number, startTicks: number): void {
    this.writeState((t) => t.forgetRuleFirings(pid, startTicks));
  }

  /**
   * Where a rule's escalation chain got for its current firing (the next step's index), committed
   * at once: a watcher killed between two steps resumes at the next one, not at the top.
   */
  saveChainStep(ruleKey: string, pid: number, startTicks: number, nextStep: number): void {
    this.writeState((t) => t.saveChainStep(ruleKey, pid, startTicks, nextStep));
    this.commitState();
  }

  /**
   * Journals an action before it is carried out and returns its id for `endAction`. The row is
   * committed before this returns unless the file is failing; then it waits with the rest, and
   * the action goes ahead all the same: bookkeeping never holds back an action.
   */
  beginAction(intent: ActionIntentRecord): number {
    if (this.readonly || this.closed) return 0;
    const id = this.nextActionId++;
    this.writeState((t) => t.beginAction(id, intent));
    this.commitState();
    return id;
  }

  endAction(id: number, outcome: ActionOutcomeRecord): void {
    this.writeState((t) => t.endAction(id, outcome));
  }

  /** Queues a state write; queued writes are committed together at the end of this turn. */
  private writeState(write: StateWrite): void {
    if (this.readonly || this.closed) return;
    this.stateQueue.push(write);
    if (this.stateQueue.length > this.options.maxBacklogEvents) {
      this.stateQueue.shift();
      this.counters.eventsDropped++;
    }
    if (this.stateCommitScheduled) return;
    this.stateCommitScheduled = true;
    queueMicrotask(() => {
      this.stateCommitScheduled = false;
      this.commitState();
    });
  }

  /** Commits the queued state writes in one transaction, unless the file is in a retry pause. */
  private commitState(): void {
    const count = this.stateQueue.length;
    if (count === 0 || this.closed || performance.now() < this.nextAttemptAt) return;
    try {
      this.db.transaction(() => this.replayState(count)).immediate();
    } catch (err) {
      this.backOff(asError(err));
      return;
    }
    this.stateQueue.splice(0, count);
  }

  private replayState(count: number): void {
    const tables = this.state;
    if (tables === null) return;
    for (let i = 0; i < count; i++) this.stateQueue[i]?.(tables);
  }

  /**
   * Retention, downsampling and a WAL checkpoint, within `maintenanceBudgetMs`; runs on its own
   * timer and may be called by hand. A file that was deleted or replaced under us is reopened.
   */
  maintain(): MaintenanceResult {
    const empty: MaintenanceResult = { deletedRows: 0, downsampledRows: 0, more: false };
    if (this.readonly || this.closed) return empty;
    try {
      this.reopenIfReplaced();
      const result = this.maintenance.run({
        retainMs: this.options.retainMs,
        budgetMs: this.options.maintenanceBudgetMs,
        nowMs: this.now(),
        onProcessesDeleted: () => this.processIds.clear(),
      });
      // TRUNCATE waits for readers only up to the busy timeout; a busy result is retried next time.
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      return result;
    } catch (err) {
      this.counters.maintenanceErrors++;
      this.counters.lastError = asError(err).message;
      return empty;
    }
  }

  stats(): StoreStats {
    return {
      ...this.counters,
      pendingBatches: this.pending.length,
      pendingSamples: this.pendingSamples,
      pendingEvents: this.pendingEvents.length,
    };
  }

  history(query: HistoryQuery): HistoryPoint[] {
    return queryHistory(this.db, query, this.now());
  }

  system(query: { sinceMs: number; untilMs?: number; maxPoints?: number }): SystemPoint[] {
    return querySystem(this.db, query, this.now());
  }

  events(query: { sinceMs: number; untilMs?: number; target?: string; limit?: number }): StoredEvent[] {
    return queryEvents(this.db, query);
  }

  targets(): TargetSummary[] {
    return queryTargets(this.db);
  }

  /**
   * Flushes what is buffered, marks the session closed and closes the file. Never throws; what
   * could not be written shows in the returned `pendingSamples`.
   */
  close(): StoreStats {
    if (this.closed) return this.stats();
    for (const timer of this.timers) clearInterval(timer);
    if (!this.readonly) {
      let drained = true;
      while (
        drained &&
        (this.pending.length > 0 || this.pendingEvents.length > 0 || this.stateQueue.length > 0)
      )
        drained = this.flush().ok;
      // Left open when samples are lost, so that the next start records the gap.
      if (drained) {
        try {
          this.db.prepare('UPDATE sessions SET closed_at = ? WHERE id = ?').run(this.now(), this.sessionId);
        } catch (err) {
          this.noteWriteError(asError(err));
        }
      }
    }
    this.closed = true;
    const stats = this.stats();
    this.db.close();
    return stats;
  }
}

/** Opens (creating when needed, unless `readonly`) the history file at `path`. */
export function openStore(path: string, options: StoreOptions = {}): Store {
  return new Store(path, options);
}
