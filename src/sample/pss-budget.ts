import type { ProcessRecord, ProcReader } from '../proc/index.js';

const DEFAULT_BUDGET_MS = 25;
const DEFAULT_SLOW_READ_MS = 100;
const DEFAULT_SLOW_REREAD_MS = 300_000;

export interface PssBudgetOptions {
  /** Time a cycle may spend reading smaps_rollup; default 25 ms. At least one read is made. */
  budgetMs?: number;
  /** A read that took this long marks the process as slow to read; default 100 ms. */
  slowReadMs?: number;
  /** How old a slow process's value gets before it is read again; default 5 minutes. */
  slowRereadMs?: number;
  /** Monotonic milliseconds; `performance.now` unless a test drives it. */
  clock?: () => number;
}

interface LastRead {
  startTicks: number;
  atMs: number;
  tookMs: number;
  pss?: number;
  uss?: number;
  swap?: number;
  /** The cycle that last asked for this process: an entry not asked for is dropped. */
  askedCycle: number;
}

export interface PssBudgetStats {
  /** Reads made in the last cycle, and the time they took together. */
  reads: number;
  spentMs: number;
  /** Processes given an older value, or none, because the budget was spent. */
  deferred: number;
  /** Processes left on their old value because their last read was slow. */
  slowSkipped: number;
}

/**
 * PSS within a time budget. Reading `smaps_rollup` makes the kernel walk every mapping of the
 * process with its memory map locked, which for a huge address space takes seconds and stalls
 * the process meanwhile. Each cycle reads the processes whose value is oldest (never read
 * first) until the budget is spent; the others keep their last value, with its age in
 * `pssAgeMs`. A process whose last read was slow is read again only once its value is
 * `slowRereadMs` old, so one huge process cannot take every cycle's budget, or stall itself
 * every cycle.
 */
export class PssBudget {
  private readonly last = new Map<number, LastRead>();
  private cycle = 0;
  /** Time a cycle may spend on reads; the watcher sets it anew when its interval changes. */
  budgetMs: number;
  private readonly slowReadMs: number;
  private readonly slowRereadMs: number;
  private readonly clock: () => number;
  stats: PssBudgetStats = { reads: 0, spentMs: 0, deferred: 0, slowSkipped: 0 };

  constructor(options: PssBudgetOptions = {}) {
    this.budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
    this.slowReadMs = options.slowReadMs ?? DEFAULT_SLOW_READ_MS;
    this.slowRereadMs = options.slowRereadMs ?? DEFAULT_SLOW_REREAD_MS;
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Processes with a value kept. */
  get size(): number {
    return this.last.size;
  }

  /**
   * Gives each record PSS, USS and swap (read now, or kept from an earlier cycle with its age in
   * `pssAgeMs`; none for one not read yet). Returns the records whose process was found gone.
   */
  fill(reader: ProcReader, records: readonly ProcessRecord[]): Set<ProcessRecord> {
    this.cycle++;
    const now = this.clock();
    const gone = new Set<ProcessRecord>();
    const stats: PssBudgetStats = { reads: 0, spentMs: 0, deferred: 0, slowSkipped: 0 };
    const due: { record: ProcessRecord; last: LastRead | undefined; atMs: number }[] = [];
    for (const record of records) {
      if (record.rss === undefined || record.kernelThread) continue;
      let last = this.last.get(record.pid);
      if (last !== undefined && last.startTicks !== record.startTicks) {
        this.last.delete(record.pid);
        last = undefined;
      }
      if (last === undefined) {
        due.push({ record, last, atMs: Number.NEGATIVE_INFINITY });
        continue;
      }
      last.askedCycle = this.cycle;
      if (last.tookMs >= this.slowReadMs && now - last.atMs < this.slowRereadMs) {
        stats.slowSkipped++;
        keep(record, last, now);
        continue;
      }
      due.push({ record, last, atMs: last.atMs });
    }
    // Oldest value first, so that the ones the budget leaves for later are the freshest.
    due.sort((a, b) => a.atMs - b.atMs);
    for (const { record, last } of due) {
      if (stats.reads > 0 && stats.spentMs >= this.budgetMs) {
        stats.deferred++;
        if (last !== undefined) keep(record, last, now);
        else this.last.set(record.pid, unread(record, this.cycle));
        continue;
      }
      const started = this.clock();
      const alive = reader.addSmaps(record);
      const tookMs = Math.max(0, this.clock() - started);
      stats.reads++;
      stats.spentMs += tookMs;
      if (!alive) {
        gone.add(record);
        this.last.delete(record.pid);
        continue;
      }
      record.pssAgeMs = 0;
      this.last.set(record.pid, {
        startTicks: record.startTicks,
        atMs: started,
        tookMs,
        ...(record.pss === undefined ? {} : { pss: record.pss }),
        ...(record.uss === undefined ? {} : { uss: record.uss }),
        ...(record.swap === undefined ? {} : { swap: record.swap }),
        askedCycle: this.cycle,
      });
    }
    for (const [pid, last] of this.last) if (last.askedCycle !== this.cycle) this.last.delete(pid);
    this.stats = stats;
    return gone;
  }
}

/** A process not read yet: first in line next cycle, and nothing to show meanwhile. */
function unread(record: ProcessRecord, cycle: number): LastRead {
  return {
    startTicks: record.startTicks,
    atMs: Number.NEGATIVE_INFINITY,
    tookMs: 0,
    askedCycle: cycle,
  };
}

function keep(record: ProcessRecord, last: LastRead, now: number): void {
  if (last.pss === undefined) return;
  record.pss = last.pss;
  if (last.uss !== undefined) record.uss = last.uss;
  if (last.swap !== undefined) record.swap = last.swap;
  record.pssAgeMs = Math.max(0, now - last.atMs);
}
