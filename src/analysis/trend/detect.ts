import { formatDuration } from '../../units/index.js';
import { findRhythm } from './cycle.js';
import {
  evidenceSpanSeconds,
  neededText,
  postWarmupSpanSeconds,
  WARMUP_SECONDS,
  weighEvidence,
} from './evidence.js';
import { slidingFloor } from './floor.js';
import { mannKendall } from './mann-kendall.js';
import { seasonalTrend } from './seasonal.js';
import { currentRegimeStart } from './segment.js';
import { median, quantile } from './stats.js';
import { theilSen } from './theil-sen.js';
import type { MemorySeries, TrendOptions, TrendResult } from './types.js';

const MIN_SAMPLES = 16;
/** Fewer floor points than this cannot show a trend with any confidence. */
const MIN_FLOOR_POINTS = 8;
const MAX_FLOOR_POINTS = 96;
/** Without a rhythm the floor window is this share of the series: short enough to follow a trend,
 * long enough to step over single spikes and most of the sampling noise. */
const DEFAULT_WINDOW_SHARE = 1 / 48;
/** A rhythm longer than this share of the series repeats too few times to be told from a trend. */
const MAX_CYCLE_SHARE = 1 / 3;
/** A wave is compared phase by phase, so its floor windows may be shorter than its period; they
 * stay short enough to leave a few floor points. */
const MAX_WAVE_WINDOW_SHARE = 1 / 4;
const CYCLE_MARGIN = 1.1;
/** A leak keeps its pace and a filling cache slows down: when the newest half of the regime grows
 * at less than this share of the regime's rate (and surely slower), growth is levelling off. */
const MIN_RECENT_SLOPE_SHARE = 0.5;
/** Picking the most trend-like regime out of many candidates finds "trends" in noise; a regime
 * that starts after a bend must clear a significance this many times stricter. */
const REGIME_SELECTION_PENALTY = 10;

interface Growth {
  slope: number;
  slopeLow: number;
  slopeHigh: number;
  pValueGrowth: number;
}

/**
 * Leak or not: the trend of the floor of the series (its minima over windows at least one rhythm
 * long) in the current regime (after the last step or bend), by Theil–Sen with a Mann–Kendall test,
 * or phase by phase across cycles when the rhythm is regular. O(n log n) in the samples plus a
 * fixed cost for the ≤ 96 floor points.
 */
export function detectTrend(series: MemorySeries, options: TrendOptions = {}): TrendResult {
  const significance = options.significance ?? 0.01;
  const minGrowthFraction = options.minGrowthFraction ?? 0.02;
  const { timeSeconds, bytes, origin } = sortedFinite(series);
  const n = timeSeconds.length;
  const base = emptyResult(n, options.limitBytes);
  if (n < MIN_SAMPLES) {
    return { ...base, reason: `only ${n} samples; at least ${MIN_SAMPLES} are needed` };
  }
  const duration = (timeSeconds[n - 1] as number) - (timeSeconds[0] as number);
  if (!(duration > 0)) return { ...base, reason: 'all samples have the same time' };

  const rhythm = findRhythm(timeSeconds, bytes, duration * MAX_CYCLE_SHARE);
  const cycleSeconds = rhythm.cycleSeconds ?? null;
  const cycleWindow = (rhythm.cycleSeconds ?? 0) * CYCLE_MARGIN;
  const windowSeconds = Math.max(
    duration * DEFAULT_WINDOW_SHARE,
    rhythm.periodSeconds === undefined
      ? cycleWindow
      : Math.min(cycleWindow, duration * MAX_WAVE_WINDOW_SHARE),
  );
  const floor = slidingFloor(timeSeconds, bytes, windowSeconds, MAX_FLOOR_POINTS);
  const m = floor.timeSeconds.length;
  if (m < MIN_FLOOR_POINTS) {
    const rhythmText = cycleSeconds === null ? '' : ` of its ${formatDuration(cycleSeconds * 1000)} rhythm`;
    return { ...base, reason: `the series covers too few cycles${rhythmText} to see a trend`, cycleSeconds };
  }
  const minRegimePoints = Math.max(MIN_FLOOR_POINTS, Math.ceil(m / 6));
  // A floor over windows shorter than the rhythm still waves, and its bends would be the wave's.
  const floorIsFlat = windowSeconds >= (rhythm.cycleSeconds ?? 0);
  const regimeIndex = floorIsFlat ? currentRegimeStart(floor.timeSeconds, floor.bytes, minRegimePoints) : 0;
  const regimeTimes = floor.timeSeconds.subarray(regimeIndex);
  const regimeFloors = floor.bytes.subarray(regimeIndex);
  const regimeStart = regimeIndex === 0 ? 0 : (regimeTimes[0] as number) - windowSeconds;
  const firstInRegime = timeSeconds.findIndex((t) => t >= regimeStart);

  const seasonal =
    rhythm.periodSeconds === undefined
      ? undefined
      : seasonalTrend(
          timeSeconds.subarray(firstInRegime),
          bytes.subarray(firstInRegime),
          rhythm.periodSeconds,
        );
  const growth: Growth = seasonal ?? floorGrowth(regimeTimes, regimeFloors, floor.overlap);
  // The seasonal test compares whole cycles and so already sees a slowdown.
  const recentHalf = regimeFloors.length >> 1;
  const recent =
    seasonal === undefined
      ? floorGrowth(regimeTimes.subarray(recentHalf), regimeFloors.subarray(recentHalf), floor.overlap)
      : growth;
  const levelsOff = recent.slope < MIN_RECENT_SLOPE_SHARE * growth.slope && recent.slopeHigh < growth.slope;

  const intercept = median(regimeFloors.map((v, i) => v - growth.slope * (regimeTimes[i] as number)));
  const lastTime = timeSeconds[n - 1] as number;
  const floorBytes = intercept + growth.slope * lastTime;
  const excursions = bytes
    .subarray(firstInRegime)
    .map((v, i) => v - (intercept + growth.slope * (timeSeconds[firstInRegime + i] as number)));
  const peakBytes = floorBytes + Math.max(0, quantile(excursions, 0.95));
  const regimeSeconds = lastTime - regimeStart;
  const level = median(regimeFloors);
  const growthFraction = level > 0 ? (growth.slope * regimeSeconds) / level : 0;
  const warmupEndSeconds =
    options.startSeconds === undefined ? undefined : options.startSeconds - origin + WARMUP_SECONDS;
  // A bend inside a known warm-up is where the warm-up ended, not a regime picked for its trend.
  const bendEndsWarmup = warmupEndSeconds !== undefined && regimeStart <= warmupEndSeconds;
  const threshold =
    regimeIndex === 0 || bendEndsWarmup ? significance : significance / REGIME_SELECTION_PENALTY;
  const grows = growth.pValueGrowth < threshold && growth.slopeLow > 0;
  const material = growthFraction >= minGrowthFraction;
  const rising = grows && material && !levelsOff;
  let verdict: TrendResult['verdict'] = rising ? 'leak' : 'no-leak';
  let reason = explain({
    verdict: rising ? 'leak' : 'no-leak',
    grows,
    material,
    growthFraction,
    regimeSeconds,
  });
  let evidenceSeconds = evidenceSpanSeconds(rhythm);
  let neededSeconds: number | undefined;
  if (rising) {
    const evidence = weighEvidence({
      durationSeconds: duration,
      rhythm,
      slope: growth.slope,
      slopeLow: growth.slopeLow,
      slopeHigh: growth.slopeHigh,
      levelBytes: level,
      ageSeconds: options.startSeconds === undefined ? undefined : lastTime + origin - options.startSeconds,
      conservativeSecondsToLimit:
        options.limitBytes === undefined
          ? undefined
          : Math.max(0, options.limitBytes - peakBytes) / growth.slopeLow,
      slowing: recent.slopeHigh < growth.slope,
      ...paceOfThirds(
        afterWarmup(regimeTimes, regimeFloors, {
          windowSeconds,
          warmupEndSeconds,
          minSpanSeconds: postWarmupSpanSeconds(rhythm),
        }),
        floor.overlap,
        seasonal === undefined ? undefined : growth,
        threshold,
      ),
      regimeSeconds,
    });
    evidenceSeconds = evidence.requiredSeconds;
    if (evidence.missing) {
      verdict = 'insufficient';
      neededSeconds = evidence.missing.neededSeconds;
      reason = `${evidence.missing.reason}; ${neededText(neededSeconds)}`;
    } else if (evidence.sinceStart) reason = `${evidence.sinceStart}; ${reason}`;
  } else if (duration < evidenceSeconds) {
    // Too short a series cannot show a rise at the required significance either: "no leak"
    // would only mean "not enough data yet".
    verdict = 'insufficient';
    neededSeconds = evidenceSeconds - duration;
    reason = `only ${formatDuration(duration * 1000)} of samples; ${neededText(neededSeconds)}`;
  }

  const result: TrendResult = {
    ...base,
    verdict,
    reason,
    evidenceSeconds,
    slopeBytesPerSecond: growth.slope,
    slopeLowBytesPerSecond: growth.slopeLow,
    slopeHighBytesPerSecond: growth.slopeHigh,
    pValue: growth.pValueGrowth,
    cycleSeconds,
    windowSeconds,
    regimeStartSeconds: regimeStart + origin,
    floorBytes,
    peakBytes,
  };
  if (neededSeconds !== undefined) result.neededSeconds = neededSeconds;
  if (verdict === 'leak' && options.limitBytes !== undefined) {
    result.timeToLimitSeconds = Math.max(0, (options.limitBytes - peakBytes) / growth.slope);
  }
  return result;
}

/**
 * The floor points whose windows lie wholly after the process's warm-up, when its start is known
 * and enough are left: what remains of a warm-up's fast start would otherwise pass for the older
 * pace a leak must keep, and keep a leak that began at the start unseen for most of an hour.
 */
function afterWarmup(
  times: Float64Array,
  floors: Float64Array,
  span: { windowSeconds: number; warmupEndSeconds: number | undefined; minSpanSeconds: number },
): { times: Float64Array; floors: Float64Array; afterWarmup: boolean } {
  const whole = { times, floors, afterWarmup: false };
  const { warmupEndSeconds, windowSeconds } = span;
  if (warmupEndSeconds === undefined) return whole;
  const first = times.findIndex((t) => t - windowSeconds >= warmupEndSeconds);
  const last = times[times.length - 1] as number;
  // Too little after the warm-up to compare paces: the whole regime, warm-up and all, is
  // compared, and a warm-up's fast start then keeps the verdict back.
  if (first <= 0 || times.length - first < MIN_FLOOR_POINTS || last - warmupEndSeconds < span.minSpanSeconds)
    return whole;
  return { times: times.subarray(first), floors: floors.subarray(first), afterWarmup: true };
}

/**
 * The slope of the newest third of the floor points and of the oldest: a warm-up shows as the
 * newer growing slower. A seasonal trend already compares whole cycles. After a warm-up, also
 * whether those points rise significantly on their own.
 */
function paceOfThirds(
  { times, floors, afterWarmup }: { times: Float64Array; floors: Float64Array; afterWarmup: boolean },
  overlap: number,
  seasonal: Growth | undefined,
  threshold: number,
): { recentSlope: number; olderSlope: number; risesAfterWarmup?: boolean } {
  const pace = (): { recentSlope: number; olderSlope: number } => {
    if (seasonal !== undefined) return { recentSlope: seasonal.slope, olderSlope: seasonal.slope };
    const third = Math.max(2, Math.floor(floors.length / 3));
    const newer = theilSen(times.subarray(-third), floors.subarray(-third), 0);
    const older = theilSen(times.subarray(0, third), floors.subarray(0, third), 0);
    return { recentSlope: newer.slope, olderSlope: older.slope };
  };
  if (!afterWarmup) return pace();
  const after = floorGrowth(times, floors, overlap);
  return { ...pace(), risesAfterWarmup: after.pValueGrowth < threshold && after.slopeLow > 0 };
}

function floorGrowth(timeSeconds: Float64Array, floors: Float64Array, overlap: number): Growth {
  const mk = mannKendall(floors, overlap);
  const fit = theilSen(timeSeconds, floors, mk.varianceS);
  return {
    slope: fit.slope,
    slopeLow: fit.slopeLow,
    slopeHigh: fit.slopeHigh,
    pValueGrowth: mk.pValueGrowth,
  };
}

function explain(facts: {
  verdict: 'leak' | 'no-leak';
  grows: boolean;
  material: boolean;
  growthFraction: number;
  regimeSeconds: number;
}): string {
  const growth = `${(facts.growthFraction * 100).toFixed(1)}% over the last ${formatDuration(facts.regimeSeconds * 1000)}`;
  if (facts.verdict === 'leak') return `the memory floor keeps rising: ${growth}`;
  if (!facts.grows) return 'no significant rise of the memory floor';
  if (!facts.material) return `the memory floor rises only ${growth}, too little to call a leak`;
  return 'the memory floor rose but is levelling off';
}

function emptyResult(points: number, limitBytes: number | undefined): TrendResult {
  const result: TrendResult = {
    verdict: 'insufficient',
    reason: '',
    points,
    slopeBytesPerSecond: null,
    slopeLowBytesPerSecond: null,
    slopeHighBytesPerSecond: null,
    confidenceLevel: 0.95,
    pValue: null,
    cycleSeconds: null,
    windowSeconds: null,
    regimeStartSeconds: null,
    floorBytes: null,
    peakBytes: null,
    evidenceSeconds: null,
  };
  if (limitBytes !== undefined) result.limitBytes = limitBytes;
  return result;
}

/**
 * Finite samples in time order, with times shifted to start at 0: epoch seconds times a slope
 * would lose the intercept's precision. `origin` shifts them back for output.
 */
function sortedFinite(series: MemorySeries): {
  timeSeconds: Float64Array;
  bytes: Float64Array;
  origin: number;
} {
  const count = Math.min(series.timeSeconds.length, series.bytes.length);
  const order: number[] = [];
  for (let i = 0; i < count; i++) {
    if (Number.isFinite(series.timeSeconds[i]) && Number.isFinite(series.bytes[i])) order.push(i);
  }
  const time = (i: number) => series.timeSeconds[i] as number;
  order.sort((a, b) => time(a) - time(b) || a - b);
  const origin = order.length > 0 ? time(order[0] as number) : 0;
  const timeSeconds = new Float64Array(order.length);
  const bytes = new Float64Array(order.length);
  order.forEach((index, k) => {
    timeSeconds[k] = time(index) - origin;
    bytes[k] = series.bytes[index] as number;
  });
  return { timeSeconds, bytes, origin };
}
