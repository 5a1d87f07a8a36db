/**
 * Reads for the CLI, the dashboard and reports. Every query is bounded twice: long ranges are
 * averaged into at most `maxPoints` points per series, and no query returns more than
 * ROW_LIMIT rows (scenario 36), since better-sqlite3 offers no way to interrupt a running query.
 */
import type Database from 'better-sqlite3';
import type { PressureLine } from '../proc/index.js';
import { foldPressure, PSI_COLUMNS } from './pressure-columns.js';
import type { HistoryPoint, HistoryQuery, StoredEvent, SystemPoint, TargetSummary } from './types.js';

export const DEFAULT_MAX_POINTS = 1000;
/** About 100 ms of row building on a modest machine; beyond that the caller must narrow the range. */
export const ROW_LIMIT = 20_000;

type Row = Record<string, string | number | null>;

/** SQLite NULL becomes an absent field, as in the sample types. */
function compact<T>(row: Row): T {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(row)) if (value !== null) out[key] = value;
  return out as T;
}

function avg(column: string, integer: boolean): string {
  const expr = `sum(s.${column} * s.samples) * 1.0 / sum(CASE WHEN s.${column} IS NOT NULL THEN s.samples END)`;
  return integer ? `CAST(round(${expr}) AS INTEGER)` : expr;
}

const PROCESS_COLUMNS: ReadonlyArray<[column: string, field: string, integer: boolean]> = [
  ['rss', 'rss', true],
  ['pss', 'pss', true],
  ['uss', 'uss', true],
  ['swap', 'swap', true],
  ['vms', 'vms', true],
  ['cpu_percent', 'cpuPercent', false],
  ['mem_percent', 'memPercent', false],
  ['mem_limit_percent', 'memLimitPercent', false],
  ['threads', 'threads', false],
];

/**
 * A process's cgroup pressure: read only where the range holds some, since two more averages
 * cost a bucketed query over 200 000 rows about a quarter more (most processes have none).
 */
const CGROUP_PSI_COLUMNS: typeof PROCESS_COLUMNS = [
  ['cgroup_psi_some', 'cgroupPsiSome', false],
  ['cgroup_psi_full', 'cgroupPsiFull', false],
];

const SYSTEM_COLUMNS: ReadonlyArray<[column: string, field: string, integer: boolean]> = [
  ['mem_total', 'memTotal', true],
  ['mem_available', 'memAvailable', true],
  ['mem_used', 'memUsed', true],
  ['mem_percent', 'memPercent', false],
  ['swap_total', 'swapTotal', true],
  ['swap_free', 'swapFree', true],
  ['cpu_count', 'cpuCount', true],
  ['cpu_percent', 'cpuPercent', false],
  ['load1', 'load1', false],
  ['load5', 'load5', false],
  ['load15', 'load15', false],
];

/** The machine's PSI columns, as `psi_some_avg10 AS "some.avg10"`; a bucket folds them. */
function pressureList(bucketed: boolean): string {
  return PSI_COLUMNS.map(({ kind, field, column }) => {
    const value = bucketed ? foldPressure(column, `s.${column}`, (c) => avg(c, false)) : `s.${column}`;
    return `${value} AS "${kind}.${field}"`;
  }).join(', ');
}

/** The flat PSI columns of a row become the sample's `pressure` (absent when `some` was not read). */
function withPressure(row: Row): SystemPoint {
  const flat: Row = {};
  const lines: Partial<Record<'some' | 'full', PressureLine>> = {};
  for (const [key, value] of Object.entries(row)) {
    const dot = key.indexOf('.');
    if (dot < 0) {
      flat[key] = value;
      continue;
    }
    const kind = key.slice(0, dot) as 'some' | 'full';
    const field = key.slice(dot + 1);
    if (typeof value !== 'number') continue;
    const line = lines[kind] ?? { avg10: 0, avg60: 0, avg300: 0, totalUs: 0 };
    lines[kind] = line;
    line[field === 'total' ? 'totalUs' : (field as 'avg10' | 'avg60' | 'avg300')] = value;
  }
  const point = compact<SystemPoint>(flat);
  if (lines.some) point.pressure = lines.full ? { some: lines.some, full: lines.full } : { some: lines.some };
  return point;
}

function selectList(columns: typeof PROCESS_COLUMNS, bucketed: boolean): string {
  return columns
    .map(([column, field, integer]) => `${bucketed ? avg(column, integer) : `s.${column}`} AS ${field}`)
    .join(', ');
}

/**
 * Buckets start where the data in the range begin (`fromMs` is moved there), so the first point
 * is not before `sinceMs`, and a history younger than the range is averaged over its own span,
 * not into a few buckets at the right edge of the range (a fresh dashboard, a short run's report).
 */
const BUCKET_START = ':fromMs + CAST((s.time - :fromMs) / :bucket AS INTEGER) * :bucket';

/**
 * Bucket width that brings the longest series down to `maxPoints` and all series together under
 * ROW_LIMIT, or 0 when the raw rows fit.
 */
function bucketMs(counts: SeriesCounts, fromMs: number, toMs: number, maxPoints: number): number {
  if (counts.longest <= maxPoints && counts.total <= ROW_LIMIT) return 0;
  const points = Math.max(1, Math.min(maxPoints, Math.floor(ROW_LIMIT / Math.max(1, counts.series))));
  return Math.max(1000, Math.ceil((toMs - fromMs) / points / 1000) * 1000);
}

interface SeriesCounts {
  longest: number;
  total: number;
  series: number;
}

export function queryHistory(db: Database.Database, query: HistoryQuery, nowMs: number): HistoryPoint[] {
  const fromMs = query.sinceMs;
  const toMs = query.untilMs ?? nowMs + 1;
  const maxPoints = Math.max(1, query.maxPoints ?? DEFAULT_MAX_POINTS);
  const where = ['s.time >= :fromMs', 's.time < :toMs'];
  const params: Record<string, number | string> = { fromMs, toMs };
  if (query.target !== undefined) {
    const id = db.prepare('SELECT id FROM targets WHERE name = ?').pluck().get(query.target);
    if (id === undefined) return [];
    where.push('s.target_id = :targetId');
    params.targetId = id as number;
  }
  if (query.pid !== undefined) {
    const ids = db.prepare('SELECT id FROM processes WHERE pid = ?').pluck().all(query.pid);
    if (ids.length === 0) return [];
    where.push('s.process_id IN (SELECT value FROM json_each(:processIds))');
    params.processIds = JSON.stringify(ids);
  }
  const filter = where.join(' AND ');
  const counts = db
    .prepare(
      `SELECT coalesce(max(n), 0) AS longest, coalesce(sum(n), 0) AS total, count(*) AS series,
         min(first) AS first, coalesce(sum(psi), 0) AS psi FROM
         (SELECT count(*) AS n, min(s.time) AS first, count(s.cgroup_psi_some) AS psi
          FROM process_samples s WHERE ${filter} GROUP BY s.process_id)`,
    )
    .get(params) as SeriesCounts & { first: number | null; psi: number };
  const start = counts.first ?? fromMs;
  params.fromMs = start;
  const bucket = bucketMs(counts, start, toMs, maxPoints);
  const withPsi = counts.psi > 0;
  const columns = withPsi ? [...PROCESS_COLUMNS, ...CGROUP_PSI_COLUMNS] : PROCESS_COLUMNS;
  const joins = 'JOIN targets t ON t.id = s.target_id JOIN processes p ON p.id = s.process_id';
  const sql =
    bucket === 0
      ? `SELECT s.time AS time, t.name AS target, p.pid AS pid, p.start_ticks AS startTicks,
           ${selectList(columns, false)}
         FROM process_samples s ${joins} WHERE ${filter}
         ORDER BY s.time LIMIT ${ROW_LIMIT}`
      : `SELECT ${BUCKET_START} AS time, t.name AS target, p.pid AS pid,
           p.start_ticks AS startTicks, ${selectList(columns, true)}
         FROM process_samples s ${joins} WHERE ${filter}
         GROUP BY 1, s.target_id, s.process_id
         ORDER BY 1, p.pid LIMIT ${ROW_LIMIT}`;
  if (bucket !== 0) params.bucket = bucket;
  return (db.prepare(sql).all(params) as Row[]).map((r) => compact<HistoryPoint>(r));
}

export function querySystem(
  db: Database.Database,
  query: { sinceMs: number; untilMs?: number; maxPoints?: number },
  nowMs: number,
): SystemPoint[] {
  const fromMs = query.sinceMs;
  const toMs = query.untilMs ?? nowMs + 1;
  const params: Record<string, number> = { fromMs, toMs };
  const filter = 's.time >= :fromMs AND s.time < :toMs';
  const { rows, first } = db
    .prepare(`SELECT count(*) AS rows, min(s.time) AS first FROM system_samples s WHERE ${filter}`)
    .get(params) as { rows: number; first: number | null };
  const start = first ?? fromMs;
  params.fromMs = start;
  const counts = { longest: rows, total: rows, series: 1 };
  const bucket = bucketMs(counts, start, toMs, Math.max(1, query.maxPoints ?? DEFAULT_MAX_POINTS));
  const sql =
    bucket === 0
      ? `SELECT s.time AS time, ${selectList(SYSTEM_COLUMNS, false)}, ${pressureList(false)}
         FROM system_samples s WHERE ${filter} ORDER BY s.time LIMIT ${ROW_LIMIT}`
      : `SELECT ${BUCKET_START} AS time, ${selectList(SYSTEM_COLUMNS, true)}, ${pressureList(true)}
         FROM system_samples s WHERE ${filter} GROUP BY 1 ORDER BY 1 LIMIT ${ROW_LIMIT}`;
  if (bucket !== 0) params.bucket = bucket;
  return (db.prepare(sql).all(params) as Row[]).map(withPressure);
}

export function queryEvents(
  db: Database.Database,
  query: { sinceMs: number; untilMs?: number; target?: string; limit?: number },
): StoredEvent[] {
  const where = ['time >= :sinceMs'];
  const params: Record<string, number | string> = { sinceMs: query.sinceMs };
  if (query.untilMs !== undefined) {
    where.push('time < :untilMs');
    params.untilMs = query.untilMs;
  }
  if (query.target !== undefined) {
    where.push('target = :target');
    params.target = query.target;
  }
  const limit = Math.min(query.limit ?? ROW_LIMIT, ROW_LIMIT);
  const rows = db
    .prepare(
      `SELECT id, time, kind, target, pid, start_ticks AS startTicks, rule, message, details
       FROM events WHERE ${where.join(' AND ')} ORDER BY time, id LIMIT ${limit}`,
    )
    .all(params) as Row[];
  return rows.map((row) => {
    const { details, ...rest } = row;
    const event = compact<StoredEvent>(rest);
    if (typeof details === 'string') event.details = JSON.parse(details);
    return event;
  });
}

/** Targets with at least one stored sample; each bound is an index lookup, not a scan. */
export function queryTargets(db: Database.Database): TargetSummary[] {
  return db
    .prepare(
      `SELECT name AS target,
         (SELECT min(time) FROM process_samples WHERE target_id = t.id) AS firstMs,
         (SELECT max(time) FROM process_samples WHERE target_id = t.id) AS lastMs
       FROM targets t ORDER BY name`,
    )
    .all()
    .filter((r): r is TargetSummary => (r as Row).firstMs !== null);
}
