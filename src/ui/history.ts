import type { TargetTrend } from '../export/index.js';

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
  /** The process's cgroup v2 memory pressure, avg10 %; absent outside a v2 group with PSI. */
  cgroupPsiSome?: number;
  cgroupPsiFull?: number;
}

/** What one process's sample adds to a series point. */
export type SeriesValues = Omit<SeriesPoint, 'time' | 'pid'>;

export interface SystemChartPoint {
  time: number;
  memTotal: number;
  memAvailable: number;
  memPercent: number;
  cpuPercent?: number;
  /** Memory pressure (PSI) avg10, % of time some / all tasks stalled; absent without PSI. */
  psiSome?: number;
  psiFull?: number;
}

/** A machine sample as the tick gives it and the store keeps it: pressure as the kernel's lines. */
export type MachineSample = Omit<SystemChartPoint, 'psiSome' | 'psiFull'> & {
  pressure?: { some: { avg10: number }; full?: { avg10: number } };
};

/** The chart's share of a machine sample, from a live tick or a stored row. */
export function systemChartPoint(s: MachineSample): SystemChartPoint {
  const point: SystemChartPoint = {
    time: s.time,
    memTotal: s.memTotal,
    memAvailable: s.memAvailable,
    memPercent: s.memPercent,
  };
  if (s.cpuPercent !== undefined) point.cpuPercent = s.cpuPercent;
  if (s.pressure) {
    point.psiSome = s.pressure.some.avg10;
    if (s.pressure.full) point.psiFull = s.pressure.full.avg10;
  }
  return point;
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
  system(q: RangeQuery): Awaitable<SystemChartPoint[]>;
  events(q: EventQuery): Awaitable<HistoryEvent[]>;
  /** The detector's latest answer for a target, where the source keeps one. */
  trend?(target: string): Awaitable<TargetTrend | undefined>;
  /** Releases what the source holds (a reader's thread); the server calls it when it closes. */
  close?(): Awaitable<void>;
}

interface Bucket {
  time: number;
  pid: number;
  rss: number | undefined;
  pss: number | undefined;
  memPercent: number | undefined;
  cgroupPsiSome: number | undefined;
  cgroupPsiFull: number | undefined;
  cpuSum: number;
  cpuN: number;
}

function peak(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

/** pids fit in 22 bits (the kernel's pid_max ceiling), so (bucket, pid) packs into one number key. */
const PID_SPACE = 2 ** 22;

/**
 * Cuts a range into at most `maxPoints` buckets and keeps, per bucket and pid, the peak memory
 * and pressure (a spike is what an operator looks for, and an average would hide it) and the
 * mean CPU. Fed
 * one sample at a time, so a source can stream into it without building points first.
 */
export class SeriesDownsampler {
  private readonly buckets = new Map<number, Bucket>();
  private readonly since: number;
  readonly until: number;
  private readonly width: number;

  constructor(q: RangeQuery, nowMs: number) {
    this.since = q.sinceMs;
    this.until = q.untilMs ?? nowMs;
    this.width = Math.max(1, (this.until - q.sinceMs) / Math.max(1, q.maxPoints));
  }

  add(time: number, pid: number, v: SeriesValues): void {
    if (time < this.since || time >= this.until) return;
    const index = Math.floor((time - this.since) / this.width);
    const key = index * PID_SPACE + pid;
    const b = this.buckets.get(key);
    if (!b) {
      this.buckets.set(key, {
        time: Math.round(this.since + index * this.width),
        pid,
        rss: v.rss,
        pss: v.pss,
        memPercent: v.memPercent,
        cgroupPsiSome: v.cgroupPsiSome,
        cgroupPsiFull: v.cgroupPsiFull,
        cpuSum: v.cpuPercent ?? 0,
        cpuN: v.cpuPercent === undefined ? 0 : 1,
      });
      return;
    }
    b.rss = peak(b.rss, v.rss);
    b.pss = peak(b.pss, v.pss);
    b.memPercent = peak(b.memPercent, v.memPercent);
    b.cgroupPsiSome = peak(b.cgroupPsiSome, v.cgroupPsiSome);
    b.cgroupPsiFull = peak(b.cgroupPsiFull, v.cgroupPsiFull);
    if (v.cpuPercent !== undefined) {
      b.cpuSum += v.cpuPercent;
      b.cpuN++;
    }
  }

  result(): SeriesPoint[] {
    const out: SeriesPoint[] = [];
    for (const b of this.buckets.values()) {
      const point: SeriesPoint = { time: b.time, pid: b.pid };
      if (b.rss !== undefined) point.rss = b.rss;
      if (b.pss !== undefined) point.pss = b.pss;
      if (b.memPercent !== undefined) point.memPercent = b.memPercent;
      if (b.cgroupPsiSome !== undefined) point.cgroupPsiSome = b.cgroupPsiSome;
      if (b.cgroupPsiFull !== undefined) point.cgroupPsiFull = b.cgroupPsiFull;
      if (b.cpuN > 0) point.cpuPercent = b.cpuSum / b.cpuN;
      out.push(point);
    }
    return out.sort((a, b) => a.time - b.time || a.pid - b.pid);
  }
}

/**
 * The machine downsampled like a series: per bucket the lowest available memory, the mean CPU and
 * the highest pressure (a stall is what the chart is there to show, an average would hide it).
 */
export function downsampleSystem(
  points: readonly SystemChartPoint[],
  q: RangeQuery,
  nowMs: number,
): SystemChartPoint[] {
  const until = q.untilMs ?? nowMs;
  const width = Math.max(1, (until - q.sinceMs) / Math.max(1, q.maxPoints));
  const buckets = new Map<number, SystemChartPoint & { cpuSum: number; cpuN: number }>();
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
    const some = peak(b.psiSome, p.psiSome);
    const full = peak(b.psiFull, p.psiFull);
    if (some !== undefined) b.psiSome = some;
    if (full !== undefined) b.psiFull = full;
  }
  const out: SystemChartPoint[] = [];
  for (const { cpuSum, cpuN, ...point } of buckets.values()) {
    if (cpuN > 0) point.cpuPercent = cpuSum / cpuN;
    else delete point.cpuPercent;
    out.push(point);
  }
  return out.sort((a, b) => a.time - b.time);
}

/**
 * A group's memory at one time: PSS summed when every member had one (shared pages counted once
 * across the group), else RSS, said as such; a partial PSS sum would undercount the group.
 */
export interface GroupTotal {
  count: number;
  rss: number;
  pss: number | null;
  basis: 'pss' | 'rss';
}

export function groupTotal(
  members: readonly { rss?: number | undefined; pss?: number | undefined }[],
): GroupTotal {
  let rss = 0;
  let pss = 0;
  let allPss = members.length > 0;
  for (const m of members) {
    rss += m.rss ?? 0;
    if (m.pss === undefined) allPss = false;
    else pss += m.pss;
  }
  return { count: members.length, rss, pss: allPss ? pss : null, basis: allPss ? 'pss' : 'rss' };
}

/** Members grouped by their sample time, oldest first. */
export function byTime<P extends { time: number }>(points: readonly P[]): [number, P[]][] {
  const groups = new Map<number, P[]>();
  for (const p of points) {
    const group = groups.get(p.time);
    if (group) group.push(p);
    else groups.set(p.time, [p]);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]);
}

/** A target at one time: the sum over its processes, which is what one chart line shows. */
export interface TargetPoint {
  time: number;
  rss: number;
  /** Only when every process had one. */
  pss?: number;
  /** The group's total: PSS when every process had one, else RSS (`basis` says which). */
  total: number;
  basis: 'pss' | 'rss';
  cpuPercent: number;
  processes: number;
  /**
   * The highest cgroup v2 memory pressure (avg10 %) among the processes' groups: for a target
   * named by cgroup, unit or container, its own group's; absent where no group keeps PSI.
   */
  psiSome?: number;
  psiFull?: number;
}

/** Members drawn beside a target's total: the biggest, so a chart of 500 stays readable. */
export const MAX_MEMBER_LINES = 8;

/** One process of a target as a chart line: its RSS at each of the target's times, null where absent. */
export interface MemberLine {
  pid: number;
  rss: (number | null)[];
}

/**
 * The target's biggest processes (by peak RSS) as lines aligned with `totalsByTime`'s times:
 * the total says how much, the members say who. None for a target of one process.
 */
export function memberLines(points: readonly SeriesPoint[], max = MAX_MEMBER_LINES): MemberLine[] {
  const times = byTime(points).map(([time]) => time);
  const index = new Map(times.map((time, i) => [time, i]));
  const lines = new Map<number, { peak: number; rss: (number | null)[] }>();
  for (const p of points) {
    if (p.rss === undefined) continue;
    let line = lines.get(p.pid);
    if (!line) {
      line = { peak: 0, rss: new Array<number | null>(times.length).fill(null) };
      lines.set(p.pid, line);
    }
    line.rss[index.get(p.time) ?? 0] = p.rss;
    if (p.rss > line.peak) line.peak = p.rss;
  }
  if (lines.size < 2) return [];
  return [...lines]
    .sort((a, b) => b[1].peak - a[1].peak || a[0] - b[0])
    .slice(0, max)
    .map(([pid, line]) => ({ pid, rss: line.rss }));
}

export function totalsByTime(points: readonly SeriesPoint[]): TargetPoint[] {
  return byTime(points).map(([time, members]) => {
    const t = groupTotal(members);
    const row: TargetPoint = {
      time,
      rss: t.rss,
      total: t.pss ?? t.rss,
      basis: t.basis,
      cpuPercent: members.reduce((sum, m) => sum + (m.cpuPercent ?? 0), 0),
      processes: t.count,
    };
    if (t.pss !== null) row.pss = t.pss;
    let some: number | undefined;
    let full: number | undefined;
    for (const m of members) {
      some = peak(some, m.cgroupPsiSome);
      full = peak(full, m.cgroupPsiFull);
    }
    if (some !== undefined) row.psiSome = some;
    if (full !== undefined) row.psiFull = full;
    return row;
  });
}
