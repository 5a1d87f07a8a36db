import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { identityKey, type PressureLine } from '../proc/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { storedCmdline } from './cmdline.js';
import { StateTables } from './state-tables.js';
import type { FlushResult, SampleBatch, StoreEvent, StoreStats } from './types.js';

const MAX_RETRY_DELAY_MS = 5000;
/** Identity cache entries; beyond this the cache starts over (ids are then looked up again). */
const MAX_CACHED_PROCESSES = 20_000;

export interface WriterOptions {
  flushIntervalMs: number;
  flushSamples: number;
  maxBacklogSamples: number;
  maxBacklogEvents: number;
  onWriteError?: ((error: Error) => void) | undefined;
  now: () => number;
}

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

/** A write to the watcher's own tables, kept as a closure so it can wait and be replayed. */
export type StateWrite = (tables: StateTables) => void;

interface CachedProcess {
  id: number;
  name: string;
  cmdline: readonly string[];
}

type Statements = ReturnType<typeof prepareWrites>;

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

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** avg10, avg60, avg300 and the total of one PSI line, or four NULLs. */
function pressureColumns(line: PressureLine | undefined): Array<number | null> {
  return line ? [line.avg10, line.avg60, line.avg300, line.totalUs] : [null, null, null, null];
}

function prepareWrites(db: Database.Database) {
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
         cpu_percent, mem_percent, mem_limit_percent, threads, cgroup_psi_some, cgroup_psi_full)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertSystemSample: db.prepare(
      `INSERT INTO system_samples (time, batch_id, mem_total, mem_available, mem_used, mem_percent,
         swap_total, swap_free, cpu_count, cpu_percent, load1, load5, load15,
         psi_some_avg10, psi_some_avg60, psi_some_avg300, psi_some_total,
         psi_full_avg10, psi_full_avg60, psi_full_avg300, psi_full_total)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertEvent: db.prepare(
      `INSERT INTO events (time, kind, target, pid, start_ticks, rule, message, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  };
}

/**
 * The writing side of the history file: samples and events buffered and committed in one
 * transaction per flush, and the watcher's state writes queued and committed at the end of the
 * turn that made them. While the file cannot be written (locked, disk full) batches wait in a
 * bounded backlog, the oldest dropped first and recorded as a `gap`, and nothing is tried again
 * before a delay that doubles with each failure. Nothing here throws to its caller.
 */
export class StoreWriter {
  private db!: Database.Database;
  private statements!: Statements;
  private tables!: StateTables;
  private pending: PendingBatch[] = [];
  private pendingSamples = 0;
  private pendingEvents: PendingEvent[] = [];
  private nextBatchId = 1;
  private failing = false;
  private retryDelayMs: number;
  private nextAttemptAt = 0;
  /** Drops not yet recorded in the file as a `gap` event. */
  private unreportedDrops = { samples: 0, events: 0, fromMs: 0, toMs: 0 };
  private readonly targetIds = new Map<string, number>();
  private readonly processIds = new Map<string, CachedProcess>();
  private flushScheduled = false;
  /** State writes not yet committed: replayed in order by the next commit or flush. */
  private stateQueue: StateWrite[] = [];
  private stateCommitScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly counters = {
    writeErrors: 0,
    samplesDropped: 0,
    eventsDropped: 0,
    batchesWritten: 0,
    maintenanceErrors: 0,
    lastBatchId: 0,
    lastError: undefined as string | undefined,
  };

  constructor(
    db: Database.Database,
    private readonly options: WriterOptions,
  ) {
    this.retryDelayMs = options.flushIntervalMs;
    this.attach(db);
    this.nextBatchId = ((db.prepare('SELECT max(id) FROM batches').pluck().get() as number | null) ?? 0) + 1;
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs).unref();
  }

  /** Writes go to `db` from now on (a new file after the old one was replaced); the queues stay. */
  attach(db: Database.Database): void {
    this.db = db;
    this.statements = prepareWrites(db);
    this.tables = new StateTables(db);
    this.targetIds.clear();
    this.processIds.clear();
  }

  /** The watcher's own tables, for reads and for writes made inside a caller's transaction. */
  get state(): StateTables {
    return this.tables;
  }

  /** Writes one event at once, inside the caller's transaction. */
  insertEventNow(event: StoreEvent): void {
    this.insertEvent(event, detailsToJson(event.details));
  }

  /** The process ids cached for samples may be gone (maintenance deleted their rows). */
  forgetProcessIds(): void {
    this.processIds.clear();
  }

  /**
   * Queues one tick's samples and returns the id the batch will be stored under. Never throws
   * and never waits for the file.
   */
  append(batch: SampleBatch): number {
    if (this.closed) return 0;
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
    if (this.closed) return;
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

  /** Something is still waiting to be written. */
  hasPending(): boolean {
    return this.pending.length > 0 || this.pendingEvents.length > 0 || this.stateQueue.length > 0;
  }

  /**
   * Writes the buffered batches, up to `flushSamples` samples of them, and all buffered events in
   * one transaction; a larger backlog (after a lock or a full disk) goes out in further flushes,
   * each on its own turn of the event loop, so that no single one holds it long. On failure
   * nothing is lost yet: the batches stay queued and the next attempt comes after a growing delay.
   */
  flush(): FlushResult {
    if (this.closed || !this.hasPending()) return { ok: true, batchIds: [] };
    const statements = this.statements;
    const events = [...this.pendingEvents];
    const gap = this.gapEvent();
    if (gap) events.push(gap);
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
            this.writeBatch(batch);
            written.push(batch.id);
          }
          for (const { event, detailsJson } of events) this.insertEvent(event, detailsJson);
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

  private gapEvent(): PendingEvent | undefined {
    const drops = this.unreportedDrops;
    if (drops.samples === 0 && drops.events === 0) return undefined;
    const details = {
      samplesDropped: drops.samples,
      eventsDropped: drops.events,
      fromMs: drops.fromMs,
      toMs: drops.toMs,
    };
    return {
      event: {
        time: this.options.now(),
        kind: 'gap',
        message: `${drops.samples} samples and ${drops.events} events were dropped while the history file could not be written`,
        details,
      },
      detailsJson: JSON.stringify(details),
    };
  }

  private insertEvent(event: StoreEvent, detailsJson: string | null): void {
    this.statements.insertEvent.run(
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

  /** A write failed: nothing is tried again before a delay that doubles with each failure. */
  private backOff(error: Error): void {
    this.noteWriteError(error);
    this.nextAttemptAt = performance.now() + this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  }

  /** Counted, and told to `onWriteError` once per run of failures. */
  noteWriteError(error: Error): void {
    this.counters.writeErrors++;
    this.counters.lastError = error.message;
    if (!this.failing) {
      this.failing = true;
      this.options.onWriteError?.(error);
    }
  }

  private writeBatch(batch: PendingBatch): void {
    const statements = this.statements;
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
        ...pressureColumns(s.pressure?.some),
        ...pressureColumns(s.pressure?.full),
      );
    }
    for (const { target, sample: p } of batch.processes) {
      statements.insertProcessSample.run(
        p.time,
        this.targetId(target),
        this.processId(p),
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
        p.cgroupPressure?.some.avg10 ?? null,
        p.cgroupPressure?.full?.avg10 ?? null,
      );
    }
  }

  private targetId(name: string): number {
    let id = this.targetIds.get(name);
    if (id === undefined) {
      id = this.statements.upsertTarget.pluck().get(name) as number;
      this.targetIds.set(name, id);
    }
    return id;
  }

  private processId(p: ProcessSample): number {
    const key = identityKey(p);
    const cached = this.processIds.get(key);
    if (cached && cached.name === p.name && sameArgv(cached.cmdline, p.cmdline)) return cached.id;
    if (this.processIds.size >= MAX_CACHED_PROCESSES) this.processIds.clear();
    const id = this.statements.upsertProcess
      .pluck()
      .get(p.pid, p.startTicks, p.name, storedCmdline(p.cmdline), p.time) as number;
    this.processIds.set(key, { id, name: p.name, cmdline: p.cmdline });
    return id;
  }

  /** Queues a state write; queued writes are committed together at the end of this turn. */
  writeState(write: StateWrite): void {
    if (this.closed) return;
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
  commitState(): void {
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
    for (let i = 0; i < count; i++) this.stateQueue[i]?.(this.tables);
  }

  stats(): StoreStats {
    return {
      ...this.counters,
      pendingBatches: this.pending.length,
      pendingSamples: this.pendingSamples,
      pendingEvents: this.pendingEvents.length,
    };
  }

  /**
   * Flushes until nothing waits or a flush fails, then stops writing. Returns whether all of it
   * reached the file.
   */
  close(): boolean {
    if (this.closed) return !this.hasPending();
    clearInterval(this.timer);
    let drained = true;
    while (drained && this.hasPending()) drained = this.flush().ok;
    this.closed = true;
    return drained;
  }
}
