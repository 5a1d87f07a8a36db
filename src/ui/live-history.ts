import type { TargetTrend, Tick } from '../export/index.js';
import type { ProcessSample } from '../sample/index.js';
import {
  downsampleSystem,
  type EventQuery,
  type HistoryEvent,
  type HistorySource,
  type RangeQuery,
  SeriesDownsampler,
  type SeriesPoint,
  type SeriesQuery,
  type SeriesValues,
  type SystemChartPoint,
  systemChartPoint,
} from './history.js';

/** A live sample's share of a series point: its cgroup's pressure as the store keeps it, avg10. */
function seriesValues(p: ProcessSample): SeriesValues {
  const v: SeriesValues = {};
  if (p.rss !== undefined) v.rss = p.rss;
  if (p.pss !== undefined) v.pss = p.pss;
  if (p.cpuPercent !== undefined) v.cpuPercent = p.cpuPercent;
  if (p.memPercent !== undefined) v.memPercent = p.memPercent;
  if (p.cgroupPressure) {
    v.cgroupPsiSome = p.cgroupPressure.some.avg10;
    if (p.cgroupPressure.full) v.cgroupPsiFull = p.cgroupPressure.full.avg10;
  }
  return v;
}

/**
 * The last N ticks and events in memory: the dashboard's source until (and besides) the SQLite
 * store, and the daemon's live buffer. Both rings are fixed-size; what falls off the end is
 * counted, never kept.
 */
export class LiveHistory implements HistorySource {
  private readonly ticks: (Tick | undefined)[];
  private readonly eventRing: (HistoryEvent | undefined)[];
  private tickNext = 0;
  private eventNext = 0;
  private readonly latestTrend = new Map<string, TargetTrend | undefined>();
  /** Ticks and events that fell off the rings. */
  readonly dropped = { ticks: 0, events: 0 };

  constructor(
    readonly capacityTicks: number,
    readonly capacityEvents = 1000,
  ) {
    this.ticks = new Array(capacityTicks);
    this.eventRing = new Array(capacityEvents);
  }

  push(tick: Tick): void {
    const slot = this.tickNext % this.ticks.length;
    if (this.ticks[slot]) this.dropped.ticks++;
    this.ticks[slot] = tick;
    this.tickNext++;
    for (const t of tick.targets) this.latestTrend.set(t.name, t.trend);
    // Forget targets that no longer appear (a reloaded config), so the map stays bounded.
    if (this.latestTrend.size > tick.targets.length) {
      const names = new Set(tick.targets.map((t) => t.name));
      for (const name of this.latestTrend.keys()) if (!names.has(name)) this.latestTrend.delete(name);
    }
  }

  addEvent(event: HistoryEvent): void {
    const slot = this.eventNext % this.eventRing.length;
    if (this.eventRing[slot]) this.dropped.events++;
    this.eventRing[slot] = event;
    this.eventNext++;
  }

  latest(): Tick | undefined {
    return this.tickNext === 0 ? undefined : this.ticks[(this.tickNext - 1) % this.ticks.length];
  }

  /** Oldest first. */
  private *allTicks(): Generator<Tick> {
    const n = this.ticks.length;
    for (let i = Math.max(0, this.tickNext - n); i < this.tickNext; i++) {
      const tick = this.ticks[i % n];
      if (tick) yield tick;
    }
  }

  targets(): string[] {
    return this.latest()?.targets.map((t) => t.name) ?? [];
  }

  /**
   * The range as far as there are ticks in it: buckets are then cut from the data's own span,
   * so a history minutes old asked for over an hour is drawn with all its points, not one.
   */
  private spanned<Q extends RangeQuery>(q: Q): Q {
    const oldest = this.ticks[Math.max(0, this.tickNext - this.ticks.length) % this.ticks.length];
    return oldest && oldest.time > q.sinceMs ? { ...q, sinceMs: oldest.time } : q;
  }

  series(query: SeriesQuery): SeriesPoint[] {
    const q = this.spanned(query);
    const out = new SeriesDownsampler(q, Date.now());
    for (const tick of this.allTicks()) {
      if (tick.time < q.sinceMs || tick.time >= out.until) continue;
      const target = tick.targets.find((t) => t.name === q.target);
      for (const p of target?.processes ?? []) out.add(tick.time, p.pid, seriesValues(p));
    }
    return out.result();
  }

  system(q: RangeQuery): SystemChartPoint[] {
    const points: SystemChartPoint[] = [];
    for (const { system: s } of this.allTicks()) points.push(systemChartPoint(s));
    return downsampleSystem(points, this.spanned(q), Date.now());
  }

  events(q: EventQuery): HistoryEvent[] {
    const until = q.untilMs ?? Number.POSITIVE_INFINITY;
    const out: HistoryEvent[] = [];
    const n = this.eventRing.length;
    for (let i = this.eventNext - 1; i >= Math.max(0, this.eventNext - n) && out.length < q.limit; i--) {
      const e = this.eventRing[i % n];
      if (!e || e.time < q.sinceMs || e.time >= until) continue;
      if (q.target !== undefined && e.target !== q.target) continue;
      out.push(e);
    }
    return out;
  }

  trend(target: string): TargetTrend | undefined {
    return this.latestTrend.get(target);
  }
}
