/** A history file with millions of rows, made in seconds with SQL rather than by sampling. */
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/index.js';
import { processSample, SYSTEM } from './samples.js';

export const BIG_TARGET = 'big';

/**
 * Writes `rows` samples of target `big` spread over `processes` processes and the hour before
 * `nowMs`, and one system sample a second over that hour.
 */
export function writeBigHistory(path: string, rows: number, processes = 50, nowMs = Date.now()): void {
  const store = openStore(path);
  store.append({
    time: nowMs - 3_600_000,
    system: { ...SYSTEM, time: nowMs - 3_600_000 },
    processes: Array.from({ length: processes }, (_, i) => ({
      target: BIG_TARGET,
      sample: processSample({ pid: 100_000 + i, startTicks: 1 + i }),
    })),
  });
  store.close();
  const db = new Database(path);
  try {
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :rows - 1),
         ids AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM processes)
       INSERT INTO process_samples (time, target_id, process_id, rss, cpu_percent, mem_percent)
       SELECT :from + n.i * 3600000 / :rows, (SELECT id FROM targets WHERE name = :target), ids.id,
              100000000 + n.i, 1.5, 0.5
       FROM n JOIN ids ON ids.k = n.i % :processes`,
    ).run({ rows, processes, from: nowMs - 3_600_000, target: BIG_TARGET });
  } finally {
    db.close();
  }
}
