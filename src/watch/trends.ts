import { detectTrend, type TrendResult } from '../analysis/trend/index.js';
import type { RuleSpec } from '../rules/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';

/** Points kept per process; when full, every other one is dropped so the span keeps growing. */
const MAX_POINTS = 2048;
/** Least time between two analyses of one process: the detector is cheap, not free. */
const MIN_ANALYSIS_GAP_MS = 30_000;
/** Up to this many points a series is analysed on every tick. */
const CHEAP_POINTS = 256;

interface Series {
  startTicks: number;
  timeSeconds: number[];
  bytes: number[];
  lastAnalysisMs: number;
  result?: TrendResult;
}

export interface TrendView {
  verdict: TrendResult['verdict'];
  slopeBytesPerSecond?: number;
  timeToLimitSeconds?: number;
  limitBytes?: number;
}

/** Whether any rule needs a trend (`leak`, `oom_in`), so the watcher keeps series only then. */
export function rulesNeedTrends(rules: readonly RuleSpec[]): boolean {
  return rules.some((r) =>
    r.when.clauses.some((c) => c.kind === 'leak' || (c.kind === 'compare' && c.metric === 'oom_in')),
  );
}

/**
 * The RSS series of each watched process, kept in memory for the trend detector behind the
 * `leak` and `oom_in` rules, and started from the history file where it has the process. The limit is the process's cgroup limit, else what the machine has
 * available on top of what the process holds now.
 */
/** Earlier points of a process, from the history file, so a restarted watcher need not start over. */
export type TrendSeed = (
  pid: number,
  startTicks: number,
) => { timeSeconds: number[]; bytes: number[] } | undefined;

export class TrendTracker {
  private readonly series = new Map<number, Series>();

  constructor(
    private readonly seed?: TrendSeed,
    private readonly minAnalysisGapMs = MIN_ANALYSIS_GAP_MS,
  ) {}

  /** Adds this tick's samples and forgets processes that are gone. */
  record(samples: readonly ProcessSample[], nowMs: number): void {
    const seen = new Set<number>();
    for (const s of samples) {
      if (s.rss === undefined) continue;
      seen.add(s.pid);
      let series = this.series.get(s.pid);
      if (!series || series.startTicks !== s.startTicks) {
        const earlier = this.seed?.(s.pid, s.startTicks);
        series = {
          startTicks: s.startTicks,
          timeSeconds: earlier?.timeSeconds.slice(-MAX_POINTS) ?? [],
          bytes: earlier?.bytes.slice(-MAX_POINTS) ?? [],
          lastAnalysisMs: -Infinity,
        };
        this.series.set(s.pid, series);
      }
      series.timeSeconds.push(nowMs / 1000);
      series.bytes.push(s.rss);
      if (series.bytes.length > MAX_POINTS) {
        series.timeSeconds = series.timeSeconds.filter((_, i) => i % 2 === 0);
        series.bytes = series.bytes.filter((_, i) => i % 2 === 0);
      }
    }
    for (const pid of this.series.keys()) if (!seen.has(pid)) this.series.delete(pid);
  }

  /** The latest verdict for a process, analysing again when the last one is old enough. */
  view(sample: ProcessSample, system: SystemSample, nowMs: number): TrendView | undefined {
    const series = this.series.get(sample.pid);
    if (!series || series.startTicks !== sample.startTicks) return undefined;
    // A short series costs next to nothing to analyse, and is the one whose verdict changes
    // most from one sample to the next; a long one is analysed at most every gap.
    if (series.bytes.length <= CHEAP_POINTS || nowMs - series.lastAnalysisMs >= this.minAnalysisGapMs) {
      const limitBytes = sample.cgroupLimitBytes ?? (sample.rss ?? 0) + system.memAvailable;
      series.result = detectTrend({ timeSeconds: series.timeSeconds, bytes: series.bytes }, { limitBytes });
      series.lastAnalysisMs = nowMs;
    }
    const r = series.result;
    if (!r) return undefined;
    const view: TrendView = { verdict: r.verdict };
    if (r.slopeBytesPerSecond !== null) view.slopeBytesPerSecond = r.slopeBytesPerSecond;
    if (r.timeToLimitSeconds !== undefined) view.timeToLimitSeconds = r.timeToLimitSeconds;
    if (r.limitBytes !== undefined) view.limitBytes = r.limitBytes;
    return view;
  }

  get size(): number {
    return this.series.size;
  }
}
