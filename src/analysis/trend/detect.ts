import { estimateCycleSeconds } from './cycle.js';
import { slidingFloor } from './floor.js';
import { mannKendall } from './mann-kendall.js';
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
const MAX_CYCLE_SHARE = 1 / 4;
const CYCLE_MARGIN = 1.1;

/**
 * Leak or not: the trend of the floor of the series (its minima over windows at least one rhythm
 * long) in the current regime (after the last step or bend), by Theil–Sen with a Mann–Kendall test.
 * O(n log n) in the samples plus a fixed cost for the ≤ 96 floor points.
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

  const cycle = estimateCycleSeconds(timeSeconds, bytes, duration * MAX_CYCLE_SHARE);
  const windowSeconds = Math.max(duration * DEFAULT_WINDOW_SHARE, (cycle ?? 0) * CYCLE_MARGIN);
  const floor = slidingFloor(timeSeconds, bytes, windowSeconds, MAX_FLOOR_POINTS);
  const m = floor.timeSeconds.length;
  if (m < MIN_FLOOR_POINTS) {
    return { ...base, reason: `too few floor windows (${m}) to see a trend`, cycleSeconds: cycle ?? null };
  }
  const minRegimePoints = Math.max(MIN_FLOOR_POINTS, Math.ceil(m / 6));
  const regimeIndex = currentRegimeStart(floor.timeSeconds, floor.bytes, minRegimePoints);
  const regimeTimes = floor.timeSeconds.subarray(regimeIndex);
  const regimeFloors = floor.bytes.subarray(regimeIndex);
  const mk = mannKendall(regimeFloors, floor.overlap);
  const fit = theilSen(regimeTimes, regimeFloors, mk.varianceS);

  const lastTime = timeSeconds[n - 1] as number;
  const floorBytes = fit.intercept + fit.slope * lastTime;
  const regimeStart = (regimeTimes[0] as number) - windowSeconds;
  const excursions: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = timeSeconds[i] as number;
    if (t >= regimeStart) excursions.push((bytes[i] as number) - (fit.intercept + fit.slope * t));
  }
  const peakBytes = floorBytes + Math.max(0, quantile(excursions, 0.95));
  const regimeSeconds = (regimeTimes[regimeTimes.length - 1] as number) - (regimeTimes[0] as number);
  const level = median(regimeFloors);
  const growthFraction = level > 0 ? (fit.slope * regimeSeconds) / level : 0;
  const grows = mk.pValueGrowth < significance && fit.slopeLow > 0;
  const material = growthFraction >= minGrowthFraction;
  const verdict = grows && material ? 'leak' : 'no-leak';

  const result: TrendResult = {
    ...base,
    verdict,
    reason: explain(verdict, grows, growthFraction, regimeSeconds, mk.pValueGrowth),
    slopeBytesPerSecond: fit.slope,
    slopeLowBytesPerSecond: fit.slopeLow,
    slopeHighBytesPerSecond: fit.slopeHigh,
    pValue: mk.pValueGrowth,
    cycleSeconds: cycle ?? null,
    windowSeconds,
    regimeStartSeconds: regimeStart + origin,
    floorBytes,
    peakBytes,
  };
  if (verdict === 'leak' && options.limitBytes !== undefined && fit.slope > 0) {
    result.timeToLimitSeconds = Math.max(0, (options.limitBytes - peakBytes) / fit.slope);
  }
  return result;
}

function explain(
  verdict: 'leak' | 'no-leak',
  grows: boolean,
  growthFraction: number,
  regimeSeconds: number,
  pValue: number,
): string {
  const growth = `${(growthFraction * 100).toFixed(1)}% over the last ${Math.round(regimeSeconds)}s`;
  const p = `p = ${pValue.toPrecision(2)}`;
  if (verdict === 'leak') return `the memory floor keeps rising: ${growth} (${p})`;
  if (grows) return `the floor rises, but only ${growth}, too little to call a leak`;
  return `no significant rise of the memory floor (${p})`;
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
