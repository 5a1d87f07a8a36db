import { detectTrend } from '../analysis/trend/index.js';
import type { TargetTrend } from '../export/index.js';
import type { HistoryPoint, HistoryQuery, StoredEvent, SystemPoint, TargetSummary } from '../store/index.js';
import {
  type Awaitable,
  type EventQuery,
  type HistoryEvent,
  type HistorySource,
  type RangeQuery,
  type SeriesPoint,
  type SeriesQuery,
  type SystemChartPoint,
  systemChartPoint,
} from './history.js';

/** The trend verdict of a target looks back this far in its history. */
const TREND_WINDOW_MS = 24 * 3_600_000;

/**
 * The queries of a history file: the store itself (answering at once, for the report and
 * `serve --store`) or a `HistoryReader` (answering from its own thread, for a watcher).
 */
export interface HistoryRows {
  history(query: HistoryQuery): Awaitable<HistoryPoint[]>;
  system(query: { sinceMs: number; untilMs?: number; maxPoints?: number }): Awaitable<SystemPoint[]>;
  events(query: {
    sinceMs: number;
    untilMs?: number;
    target?: string;
    limit?: number;
  }): Awaitable<StoredEvent[]>;
  targets(): Awaitable<TargetSummary[]>;
  /** Whatever the rows' source holds (a reader's thread), released when the source is done with. */
  close?(): Awaitable<unknown>;
}

/**
 * The history file as the dashboard and the report read it. The trend of a target is its
 * largest process's RSS over the last day through the leak detector.
 */
export function storeHistory(store: HistoryRows): HistorySource {
  return {
    close: async () => {
      await store.close?.();
    },
    targets: async () => (await store.targets()).map((t) => t.target),
    series: async (q: SeriesQuery): Promise<SeriesPoint[]> =>
      (await store.history(rangeOf(q, { target: q.target }))).map((p) => {
        const point: SeriesPoint = { time: p.time, pid: p.pid };
        if (p.rss !== undefined) point.rss = p.rss;
        if (p.pss !== undefined) point.pss = p.pss;
        if (p.cpuPercent !== undefined) point.cpuPercent = p.cpuPercent;
        if (p.memPercent !== undefined) point.memPercent = p.memPercent;
        if (p.cgroupPsiSome !== undefined) point.cgroupPsiSome = p.cgroupPsiSome;
        if (p.cgroupPsiFull !== undefined) point.cgroupPsiFull = p.cgroupPsiFull;
        return point;
      }),
    system: async (q: RangeQuery): Promise<SystemChartPoint[]> =>
      (await store.system(rangeOf(q, {}))).map(systemChartPoint),
    events: async (q: EventQuery): Promise<HistoryEvent[]> => {
      const query: { sinceMs: number; untilMs?: number; target?: string; limit: number } = {
        sinceMs: q.sinceMs,
        limit: q.limit,
      };
      if (q.untilMs !== undefined) query.untilMs = q.untilMs;
      if (q.target !== undefined) query.target = q.target;
      return (await store.events(query))
        .sort((a, b) => b.time - a.time)
        .map((e) => {
          const event: HistoryEvent = {
            time: e.time,
            kind: e.kind,
            target: e.target ?? '',
            message: e.message,
          };
          if (e.pid !== undefined) event.pid = e.pid;
          if (e.rule !== undefined) event.rule = e.rule;
          return event;
        });
    },
    trend: async (target: string): Promise<TargetTrend | undefined> => {
      const points = await store.history({ target, sinceMs: Date.now() - TREND_WINDOW_MS, maxPoints: 2000 });
      const byPid = new Map<number, { t: number[]; rss: number[] }>();
      for (const p of points) {
        if (p.rss === undefined) continue;
        const series = byPid.get(p.pid) ?? { t: [], rss: [] };
        series.t.push(p.time / 1000);
        series.rss.push(p.rss);
        byPid.set(p.pid, series);
      }
      const largest = [...byPid.values()].sort((a, b) => (b.rss.at(-1) ?? 0) - (a.rss.at(-1) ?? 0))[0];
      if (!largest) return undefined;
      const result = detectTrend({ timeSeconds: largest.t, bytes: largest.rss });
      const summary: TargetTrend = { verdict: result.verdict, reason: result.reason };
      if (result.neededSeconds !== undefined) summary.neededSeconds = result.neededSeconds;
      if (result.slopeBytesPerSecond !== null) summary.slopeBytesPerSecond = result.slopeBytesPerSecond;
      return summary;
    },
  };
}

function rangeOf<T extends object>(
  q: RangeQuery,
  extra: T,
): T & { sinceMs: number; untilMs?: number; maxPoints: number } {
  const range: T & { sinceMs: number; untilMs?: number; maxPoints: number } = {
    ...extra,
    sinceMs: q.sinceMs,
    maxPoints: q.maxPoints,
  };
  if (q.untilMs !== undefined) range.untilMs = q.untilMs;
  return range;
}
