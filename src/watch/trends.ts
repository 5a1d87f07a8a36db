import { detectTrend, type TrendResult } from '../analysis/trend/index.js';
import type { TargetTrend } from '../export/index.js';
import type { ProcessObservation } from '../rules/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { formatDuration } from '../units/index.js';

/** Points kept per process; when full, every other one is dropped so the span keeps growing. */
const MAX_POINTS = 2048;
/**
 * Least time between two analyses of one process, on the series' clock (so a process whose life
 * is compressed is analysed as often per minute of its life as a real one): the detector is
 * cheap, not free.
 */
const MIN_ANALYSIS_GAP_SECONDS = 30;
/** Up to this many points a series is analysed on every tick. */
const CHEAP_POINTS = 256;
/**
 * A live series is tested again and again as it grows, and a chance rise that passes once is
 * then held: each test is made ten times stricter than the detector's default.
 */
const LIVE_SIGNIFICANCE = 0.001;
/**
 * A leak verdict is held (and so seen by the rules) only once it has been said for this long, and
 * for at least one floor window (so past the next trough), with no `no-leak` in between: a chance
 * rise that clears the tests on one look among hundreds is judged flat again a few samples later,
 * a leak is not. An `insufficient` look in between (a bend just found, a series thinned) neither
 * confirms nor refutes it.
 */
const CONFIRM_SECONDS = 60;

interface Series {
  startTicks: number;
  /** The process's start on the series' clock, seconds. */
  startSeconds: number;
  timeSeconds: number[];
  bytes: number[];
  /** When (series clock) it was last analysed. */
  lastAnalysisSeconds: number;
  result?: TrendResult;
  /** The last `leak` verdict while it holds: a firing leak is not let go on one sawtooth fall. */
  leak?: TrendResult;
  /** Since when (series clock) every verdict has been `no-leak` while a leak was held. */
  clearSinceSeconds?: number;
  /** Since when (series clock) verdicts have been `leak` (or `insufficient`) while none was held yet. */
  risingSinceSeconds?: number;
}

/**
 * One process's latest verdict, as the rules and the OOM report read it: the detector's
 * `TrendResult` cut down to what they use; a target's `TargetTrend` is made of these.
 */
export interface ProcessTrend extends TargetTrend {
  /** Why: for `insufficient`, what is missing. */
  reason: string;
  /** Samples the verdict is based on (seeded ones included). */
  points: number;
  limitBytes?: number;
}

/**
 * What the rule engine sees of a verdict: `leak` true or false, unknown while insufficient (so
 * that it neither fires nor resolves a rule), and `oom_in` only where a leak gives a time.
 */
export function observeTrend(observation: ProcessObservation, trend: ProcessTrend): void {
  if (trend.verdict !== 'insufficient') observation.leak = trend.verdict === 'leak';
  if (trend.timeToLimitSeconds !== undefined) observation.oomInSeconds = trend.timeToLimitSeconds;
}

/** Earlier points of a process, from the history file, so a restarted watcher need not start over. */
export type TrendSeed = (
  pid: number,
  startTicks: number,
) => { timeSeconds: number[]; bytes: number[] } | undefined;

export interface TrendTrackerOptions {
  /** Earlier points of a process, asked once when the tracker first sees it. */
  seed?: TrendSeed;
  /**
   * How many times faster than the wall clock a process's life is taken to run: its samples are
   * placed at `start + (time − start) × timeScale`. 1 in use; larger in tests and benchmarks, so a
   * process that does in seconds what a real one does in minutes is judged at the real scale.
   */
  timeScale?: number;
}

/**
 * The RSS series of each watched process, kept in memory for the trend detector behind the
 * `leak` and `oom_in` rules, and started from the history file where it has the process. The
 * limit is the process's cgroup limit, else what the machine has available on top of what the
 * process holds now. A `leak` verdict, once given, is held until the floor has been judged flat
 * for as long as a verdict needs (several of its cycles): one fall of a sawtooth, or a regime
 * bend that leaves too little series for a verdict, does not let it go.
 */
export class TrendTracker {
  private readonly series = new Map<number, Series>();
  private readonly seed: TrendSeed | undefined;
  private readonly timeScale: number;

  constructor(options: TrendTrackerOptions = {}) {
    this.seed = options.seed;
    this.timeScale = options.timeScale ?? 1;
  }

  /** Adds this tick's samples and forgets processes that are gone. */
  record(samples: readonly ProcessSample[], nowMs: number): void {
    const seen = new Set<number>();
    for (const s of samples) {
      if (s.rss === undefined) continue;
      seen.add(s.pid);
      let series = this.series.get(s.pid);
      if (!series || series.startTicks !== s.startTicks) {
        const earlier = this.seed?.(s.pid, s.startTicks);
        const startSeconds = s.startTime / 1000;
        series = {
          startTicks: s.startTicks,
          startSeconds,
          timeSeconds: earlier?.timeSeconds.slice(-MAX_POINTS).map((t) => this.scaled(startSeconds, t)) ?? [],
          bytes: earlier?.bytes.slice(-MAX_POINTS) ?? [],
          lastAnalysisSeconds: -Infinity,
        };
        this.series.set(s.pid, series);
      }
      series.timeSeconds.push(this.scaled(series.startSeconds, nowMs / 1000));
      series.bytes.push(s.rss);
      if (series.bytes.length > MAX_POINTS) {
        series.timeSeconds = series.timeSeconds.filter((_, i) => i % 2 === 0);
        series.bytes = series.bytes.filter((_, i) => i % 2 === 0);
      }
    }
    for (const pid of this.series.keys()) if (!seen.has(pid)) this.series.delete(pid);
  }

  /** The latest verdict for a process, analysing again when the last one is old enough. */
  view(sample: ProcessSample, system: SystemSample): ProcessTrend | undefined {
    const series = this.series.get(sample.pid);
    if (!series || series.startTicks !== sample.startTicks) return undefined;
    // A short series costs next to nothing to analyse, and is the one whose verdict changes
    // most from one sample to the next; a long one is analysed at most every gap.
    const now = lastTime(series);
    if (series.bytes.length <= CHEAP_POINTS || now - series.lastAnalysisSeconds >= MIN_ANALYSIS_GAP_SECONDS) {
      const limitBytes = sample.cgroupLimitBytes ?? (sample.rss ?? 0) + system.memAvailable;
      const result = detectTrend(
        { timeSeconds: series.timeSeconds, bytes: series.bytes },
        { limitBytes, startSeconds: series.startSeconds, significance: LIVE_SIGNIFICANCE },
      );
      series.result = result;
      series.lastAnalysisSeconds = now;
      this.hold(series, result);
    }
    const r = series.leak ?? series.result;
    if (!r) return undefined;
    if (series.leak === undefined && r.verdict === 'leak') return confirming(series, r);
    const held = r !== series.result;
    const view: ProcessTrend = {
      verdict: r.verdict,
      reason: held ? `${r.reason}; held until the floor is seen flat across several cycles` : r.reason,
      points: series.bytes.length,
    };
    if (r.slopeBytesPerSecond !== null) view.slopeBytesPerSecond = r.slopeBytesPerSecond;
    if (r.timeToLimitSeconds !== undefined) view.timeToLimitSeconds = r.timeToLimitSeconds;
    if (r.limitBytes !== undefined) view.limitBytes = r.limitBytes;
    if (r.neededSeconds !== undefined) view.neededSeconds = r.neededSeconds;
    return view;
  }

  get size(): number {
    return this.series.size;
  }

  private scaled(startSeconds: number, seconds: number): number {
    return this.timeScale === 1 ? seconds : startSeconds + (seconds - startSeconds) * this.timeScale;
  }

  /**
   * Takes a leak as held once confirmed, or lets it go once every verdict for the span a verdict
   * needs has been `no-leak`: evidence that the floor stopped rising, not one fall of its sawtooth.
   */
  private hold(series: Series, result: TrendResult): void {
    const now = lastTime(series);
    if (result.verdict === 'leak') {
      delete series.clearSinceSeconds;
      if (series.leak === undefined) {
        series.risingSinceSeconds ??= now;
        if (now - series.risingSinceSeconds < confirmSeconds(result)) return;
        delete series.risingSinceSeconds;
      }
      series.leak = result;
      return;
    }
    if (series.leak === undefined) {
      if (result.verdict === 'no-leak') delete series.risingSinceSeconds;
      return;
    }
    if (result.verdict !== 'no-leak') {
      delete series.clearSinceSeconds;
      return;
    }
    series.clearSinceSeconds ??= now;
    if (now - series.clearSinceSeconds >= (result.evidenceSeconds ?? 0)) {
      delete series.leak;
      delete series.clearSinceSeconds;
    }
  }
}

function lastTime(series: Series): number {
  return series.timeSeconds[series.timeSeconds.length - 1] ?? 0;
}

function confirmSeconds(result: TrendResult): number {
  return Math.max(CONFIRM_SECONDS, result.windowSeconds ?? 0);
}

/** A leak verdict not yet confirmed: unknown to the rules, with how long it still needs. */
function confirming(series: Series, result: TrendResult): ProcessTrend {
  const since = series.risingSinceSeconds ?? lastTime(series);
  const neededSeconds = Math.max(1, confirmSeconds(result) - (lastTime(series) - since));
  return {
    verdict: 'insufficient',
    reason: `${result.reason}; confirming it over the next ${formatDuration(neededSeconds * 1000)}`,
    points: series.bytes.length,
    neededSeconds,
  };
}
