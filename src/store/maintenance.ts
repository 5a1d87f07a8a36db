/**
 * Retention and downsampling, done in small transactions so that neither the WAL nor the time
 * the event loop is held grows with the amount of old data (scenario 29).
 *
 * Downsampling: a raw row older than a tier's `olderThanMs` is folded, with every other row of
 * finer resolution in the same bucket, into one row per (bucket, target, process) at the tier's
 * `resolutionMs`. Values become sample-weighted averages; `rss_min`/`rss_max` (and the machine's
 * `mem_available_min`) keep the extremes, which a leak detector looking for the post-GC floor
 * needs. The default is 1-minute buckets after an hour and 10-minute buckets after a day.
 */
import { performance } from 'node:perf_hooks';
import type Database from 'better-sqlite3';
import { foldPressure, PSI_COLUMNS } from './pressure-columns.js';
import type { DownsampleTier, MaintenanceResult } from './types.js';

export const DEFAULT_TIERS: readonly DownsampleTier[] = [
  { olderThanMs: 3_600_000, resolutionMs: 60_000 },
  { olderThanMs: 86_400_000, resolutionMs: 600_000 },
];

/** Rows touched by one transaction: small enough to keep each step within a few milliseconds. */
const STEP_ROWS = 1000;

type Table = 'process_samples' | 'system_samples';

/** Sample-weighted average of a column over a group; NULL when no row has a value. */
function avg(column: string, integer: boolean): string {
  const expr = `sum(${column} * samples) * 1.0 / sum(CASE WHEN ${column} IS NOT NULL THEN samples END)`;
  return integer ? `CAST(round(${expr}) AS INTEGER)` : expr;
}

const BUCKET = 'CAST(time / :res AS INTEGER) * :res';

const FOLD_SQL: Record<Table, string> = {
  process_samples: `
    INSERT INTO process_samples (time, target_id, process_id, resolution_ms, samples,
      rss, rss_min, rss_max, pss, uss, swap, vms, cpu_percent, mem_percent, mem_limit_percent, threads,
      cgroup_psi_some, cgroup_psi_full)
    SELECT ${BUCKET} AS bucket, target_id, process_id, :res, sum(samples),
      ${avg('rss', true)}, min(coalesce(rss_min, rss)), max(coalesce(rss_max, rss)),
      ${avg('pss', true)}, ${avg('uss', true)}, ${avg('swap', true)}, ${avg('vms', true)},
      ${avg('cpu_percent', false)}, ${avg('mem_percent', false)}, ${avg('mem_limit_percent', false)},
      ${avg('threads', false)}, ${avg('cgroup_psi_some', false)}, ${avg('cgroup_psi_full', false)}
    FROM process_samples
    WHERE resolution_ms IN (SELECT value FROM json_each(:levels)) AND time >= :start AND time < :end
    GROUP BY bucket, target_id, process_id`,
  system_samples: `
    INSERT INTO system_samples (time, resolution_ms, samples, mem_total, mem_available,
      mem_available_min, mem_used, mem_percent, swap_total, swap_free, cpu_count, cpu_percent,
      load1, load5, load15, ${PSI_COLUMNS.map((c) => c.column).join(', ')})
    SELECT ${BUCKET} AS bucket, :res, sum(samples), max(mem_total), ${avg('mem_available', true)},
      min(coalesce(mem_available_min, mem_available)), ${avg('mem_used', true)},
      ${avg('mem_percent', false)}, max(swap_total), ${avg('swap_free', true)}, max(cpu_count),
      ${avg('cpu_percent', false)}, ${avg('load1', false)}, ${avg('load5', false)},
      ${avg('load15', false)}, ${PSI_COLUMNS.map(({ column }) => foldPressure(column, column, (c) => avg(c, false))).join(', ')}
    FROM system_samples
    WHERE resolution_ms IN (SELECT value FROM json_each(:levels)) AND time >= :start AND time < :end
    GROUP BY bucket`,
};

interface Step {
  counter: 'deletedRows' | 'downsampledRows';
  run: () => number;
  more: (rows: number) => boolean;
}

export interface MaintenanceOptions {
  retainMs: number;
  budgetMs: number;
  nowMs: number;
  /** Called when process rows were deleted, so that cached ids are forgotten. */
  onProcessesDeleted: () => void;
}

export class Maintenance {
  private readonly tiers: readonly DownsampleTier[];
  /** Every resolution a sample row can have: raw (0) and each tier's. */
  private readonly levels: readonly number[];

  constructor(
    private readonly db: Database.Database,
    tiers: readonly DownsampleTier[],
  ) {
    this.tiers = [...tiers].sort((a, b) => a.resolutionMs - b.resolutionMs);
    this.levels = [0, ...this.tiers.map((t) => t.resolutionMs)];
  }

  /**
   * Runs steps until all are done or the budget is spent. Each step does at least one small
   * transaction per run, so a tiny budget still makes progress.
   */
  run(options: MaintenanceOptions): MaintenanceResult {
    const deadline = performance.now() + options.budgetMs;
    const result: MaintenanceResult = { deletedRows: 0, downsampledRows: 0, more: false };
    const cutoffMs = options.nowMs - options.retainMs;
    // A delete step may have more to do when it hit its row limit; a fold, when it folded anything.
    const steps: Step[] = [];
    const deleting = (run: () => number): Step => ({
      counter: 'deletedRows',
      run,
      more: (n) => n === STEP_ROWS,
    });
    for (const table of ['process_samples', 'system_samples'] as const) {
      for (const level of this.levels) steps.push(deleting(() => this.deleteOld(table, level, cutoffMs)));
    }
    steps.push(deleting(() => this.deleteBatch('events', 'id', 'time', cutoffMs)));
    steps.push(deleting(() => this.deleteBatch('batches', 'id', 'time', cutoffMs)));
    steps.push(
      deleting(() => this.deleteBatch('sessions', 'id', 'started_at', cutoffMs, 'closed_at IS NOT NULL')),
    );
    steps.push(
      deleting(() => this.deleteBatch('actions', 'id', 'started_at', cutoffMs, 'outcome IS NOT NULL')),
    );
    for (const table of ['rule_firings', 'group_rule_firings'])
      steps.push(deleting(() => this.deleteBatch(table, 'rowid', 'fired_at', cutoffMs, 'firing = 0')));
    steps.push(
      deleting(() => {
        const rows = this.deleteUnusedProcesses(cutoffMs);
        if (rows > 0) options.onProcessesDeleted();
        return rows;
      }),
    );
    for (const tier of this.tiers) {
      for (const table of ['process_samples', 'system_samples'] as const) {
        steps.push({
          counter: 'downsampledRows',
          run: () => this.fold(table, tier, options.nowMs),
          more: (n) => n > 0,
        });
      }
    }
    for (const step of steps) {
      for (;;) {
        const rows = step.run();
        result[step.counter] += rows;
        if (!step.more(rows)) break;
        if (performance.now() > deadline) return { ...result, more: true };
      }
    }
    return result;
  }

  private deleteOld(table: Table, level: number, cutoffMs: number): number {
    return this.db
      .prepare(
        `DELETE FROM ${table} WHERE rowid IN
           (SELECT rowid FROM ${table} WHERE resolution_ms = ? AND time < ? LIMIT ${STEP_ROWS})`,
      )
      .run(level, cutoffMs).changes;
  }

  private deleteBatch(table: string, key: string, timeColumn: string, cutoffMs: number, extra = '1'): number {
    return this.db
      .prepare(
        `DELETE FROM ${table} WHERE ${key} IN
           (SELECT ${key} FROM ${table} WHERE ${timeColumn} < ? AND ${extra} LIMIT ${STEP_ROWS})`,
      )
      .run(cutoffMs).changes;
  }

  private deleteUnusedProcesses(cutoffMs: number): number {
    return this.db
      .prepare(
        `DELETE FROM processes WHERE id IN (
           SELECT p.id FROM processes p
           WHERE p.first_seen < ?
             AND NOT EXISTS (SELECT 1 FROM process_samples s WHERE s.process_id = p.id)
           LIMIT ${STEP_ROWS})`,
      )
      .run(cutoffMs).changes;
  }

  /** Folds one window of at most about STEP_ROWS rows into the tier; returns rows folded. */
  private fold(table: Table, tier: DownsampleTier, nowMs: number): number {
    const res = tier.resolutionMs;
    const finer = this.levels.filter((l) => l < res);
    const cutoff = Math.floor((nowMs - tier.olderThanMs) / res) * res;
    let first: number | undefined;
    let stepEnd: number | undefined;
    for (const level of finer) {
      const t = this.db
        .prepare(`SELECT min(time) FROM ${table} WHERE resolution_ms = ? AND time < ?`)
        .pluck()
        .get(level, cutoff) as number | null;
      if (t !== null && (first === undefined || t < first)) first = t;
    }
    if (first === undefined) return 0;
    const start = Math.floor(first / res) * res;
    for (const level of finer) {
      const t = this.db
        .prepare(
          `SELECT time FROM ${table} WHERE resolution_ms = ? AND time >= ? ORDER BY time LIMIT 1 OFFSET ${STEP_ROWS}`,
        )
        .pluck()
        .get(level, start) as number | undefined;
      if (t !== undefined && (stepEnd === undefined || t < stepEnd)) stepEnd = t;
    }
    // At least one whole bucket, so that a bucket is never folded in two halves.
    const end = Math.min(cutoff, Math.max(start + res, Math.floor((stepEnd ?? cutoff) / res) * res));
    const levels = JSON.stringify(finer);
    return this.db.transaction(() => {
      this.db.prepare(FOLD_SQL[table]).run({ res, levels, start, end });
      return this.db
        .prepare(
          `DELETE FROM ${table}
           WHERE resolution_ms IN (SELECT value FROM json_each(?)) AND time >= ? AND time < ?`,
        )
        .run(levels, start, end).changes;
    })();
  }
}
