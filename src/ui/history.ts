import type { TrendSummary } from '../export/index.js';

/** A value now or later: an SQLite store may answer synchronously, another source may not. */
export type Awaitable<T> = T | Promise<T>;

export interface RangeQuery {
  /** Wall-clock ms since the epoch, inclusive. */
  sinceMs: number;
  /** Exclusive; now when absent. */
  untilMs?: number;
  /** At most this many time buckets come back: longer ranges are downsampled, never truncated. */
  maxPoints: number;
}

export interface SeriesQuery extends RangeQuery {
  target: string;
}

/** One process of a target at one time (or the peak of a downsampled bucket). */
export interface SeriesPoint {
  time: number;
  pid: number;
  rss?: number;
  pss?: number;
  cpuPercent?: number;
  memPercent?: number;
}

export interface SystemPoint {
  time: number;
  memTotal: number;
  memAvailable: number;
  memPercent: number;
  cpuPercent?: number;
}

export interface EventQuery {
  sinceMs: number;
  untilMs?: number;
  target?: string;
  /** Newest first up to this many. */
  limit: number;
}

/** Something that happened: a rule fired or resolved, an action ran and what came of it. */
export interface HistoryEvent {
  time: number;
  /** e.g. `rule.firing`, `rule.resolved`, `action.gc`; free text to the views. */
  kind: string;
  target: string;
  pid?: number;
  rule?: string;
  message: string;
}

/** What the dashboard and the report read: the store implements it, and so does `LiveHistory`. */
export interface HistorySource {
  targets(): Awaitable<string[]>;
  series(q: SeriesQuery): Awaitable<SeriesPoint[]>;
  system(q: RangeQuery): Awaitable<SystemPoint[]>;
  events(q: EventQuery): Awaitable<HistoryEvent[]>;
  /** The detector's latest answer for a target, where the source keeps one. */
  trend?(target: string): Awaitable<TrendSummary | undefined>;
}

function worse(a: number | undefined, b: number | undefined, pick: (x: number, y: number) => number) {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return pick(a, b);
}

/**
 * Cuts a range into at most `maxPoints` buckets and keeps, per bucket and pid, the peak memory
 * (a spike is what an operator looks for, and an average would hide it) and the mean CPU.
 */
export function downsampleSeries(
  points: readonly SeriesPoint[],
  q: RangeQuery,
  nowMs: number,
): SeriesPoint[] {
  const until = q.untilMs ?? nowMs;
  const width = Math.max(1, (until - q.sinceMs) / Math.max(1, q.maxPoints));
  const buckets = new Map<string, SeriesPoint & { cpuSum: number; cpuN: number }>();
  for (const p of points) {
    if (p.time < q.sinceMs || p.time >= until) continue;
    const index = Math.floor((p.time - q.sinceMs) / width);
    const key = `${index}:${p.pid}`;
    const b = buckets.get(key);
    if (!b) {
      buckets.set(key, {
        ...p,
        time: Math.round(q.sinceMs + index * width),
        cpuSum: p.cpuPercent ?? 0,
        cpuN: p.cpuPercent === undefined ? 0 : 1,
      });
      continue;
    }
    b.rss = worse(b.rss, p.rss, Math.max);
    b.pss = worse(b.pss, p.pss, Math.max);
    b.memPercent = worse(b.memPercent, p.memPercent, Math.max);
    if (p.cpuPercent !== undefined) {
      b.cpuSum += p.cpuPercent;
      b.cpuN++;
    }
  }
  const out: SeriesPoint[] = [];
  for (const { cpuSum, cpuN, ...point } of buckets.values()) {
    if (cpuN > 0) point.cpuPercent = cpuSum / cpuN;
    else delete point.cpuPercent;
    out.push(point);
  }
  return out.sort((a, b) => a.time - b.time || a.pid - b.pid);
}

/** The same for the machine: lowest available memory and mean CPU per bucket. */
export function downsampleSystem(
  points: readonly SystemPoint[],
  q: RangeQuery,
  nowMs: number,
): SystemPoint[] {
  const until = q.untilMs ?? nowMs;
  const width = Math.max(1, (until - q.sinceMs) / Math.max(1, q.maxPoints));
  const buckets = new Map<number, SystemPoint & { cpuSum: number; cpuN: number }>();
  for (const p of points) {
    if (p.time < q.sinceMs || p.time >= until) continue;
    const index = Math.floor((p.time - q.sinceMs) / width);
    const b = buckets.get(index);
    if (!b) {
      buckets.set(index, {
        ...p,
        time: Math.round(q.sinceMs + index * width),
        cpuSum: p.cpuPercent ?? 0,
        cpuN: p.cpuPercent === undefined ? 0 : 1,
      });
      continue;
    }
    if (p.memAvailable < b.memAvailable) {
      b.memAvailable = p.memAvailable;
      b.memPercent = p.memPercent;
    }
    if (p.cpuPercent !== undefined) {
      b.cpuSum += p.cpuPercent;
      b.cpuN++;
    }
  }
  const out: SystemPoint[] = [];
  for (const { cpuSum, cpuN, ...point } of buckets.values()) {
    if (cpuN > 0) point.cpuPercent = cpuSum / cpuN;
    else delete point.cpuPercent;
    out.push(point);
  }
  return out.sort((a, b) => a.time - b.time);
}

/** A target at one time: the sum over its processes, which is what one chart line shows. */
export interface TargetPoint {
  time: number;
  rss: number;
  pss?: number;
  cpuPercent: number;
  processes: number;
}

export function totalsByTime(points: readonly SeriesPoint[]): TargetPoint[] {
  const out = new Map<number, TargetPoint>();
  for (const p of points) {
    let row = out.get(p.time);
    if (!row) {
      row = { time: p.time, rss: 0, cpuPercent: 0, processes: 0 };
      out.set(p.time, row);
    }
    row.rss += p.rss ?? 0;
    if (p.pss !== undefined) row.pss = (row.pss ?? 0) + p.pss;
    row.cpuPercent += p.cpuPercent ?? 0;
    row.processes++;
  }
  return [...out.values()].sort((a, b) => a.time - b.time);
}
