import { quantile } from './stats.js';
import { theilSen } from './theil-sen.js';

const BINS = 256;
/** An autocorrelation peak below this is noise, not a cycle. */
const MIN_AUTOCORRELATION = 0.3;
/** A drop counts as a GC or batch-job end when it falls this share of the value spread at once. */
const DROP_SHARE = 0.5;
/** Fewer drops than this are single events (spikes, a restart), not a rhythm. */
const MIN_DROPS = 4;

/**
 * The longest repeating rhythm in a series, in seconds: a daily wave or an hourly batch job found
 * by autocorrelation, or a GC sawtooth found by the spacing of its sudden drops (GC is not regular
 * enough for autocorrelation to see). The floor is then taken over windows at least this long, so
 * that every window holds one trough. Undefined when there is no rhythm, or only one that does not
 * repeat at least twice in the series (it cannot be told from a trend then).
 */
export function estimateCycleSeconds(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  maxCycleSeconds: number,
): number | undefined {
  const start = timeSeconds[0] as number;
  const duration = (timeSeconds[timeSeconds.length - 1] as number) - start;
  if (!(duration > 0)) return undefined;
  const { binSeconds, means } = binMeans(timeSeconds, bytes, Math.min(BINS, timeSeconds.length));
  const binTimes = means.map((_, i) => i * binSeconds);
  const line = theilSen(binTimes, means, 0);
  const detrended = means.map((v, i) => v - (line.intercept + line.slope * (binTimes[i] as number)));
  const candidates: number[] = [];
  const lag = autocorrelationPeak(detrended);
  if (lag !== undefined) candidates.push(lag * binSeconds);
  const gap = dropSpacing(timeSeconds, bytes, line.slope);
  if (gap !== undefined) candidates.push(gap);
  const fitting = candidates.filter((c) => c <= maxCycleSeconds);
  return fitting.length > 0 ? Math.max(...fitting) : undefined;
}

function binMeans(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  bins: number,
): { binSeconds: number; means: Float64Array } {
  const start = timeSeconds[0] as number;
  const duration = (timeSeconds[timeSeconds.length - 1] as number) - start;
  const binSeconds = duration / bins;
  const sums = new Float64Array(bins);
  const counts = new Uint32Array(bins);
  for (let i = 0; i < timeSeconds.length; i++) {
    const b = Math.min(bins - 1, Math.floor(((timeSeconds[i] as number) - start) / binSeconds));
    sums[b] = (sums[b] as number) + (bytes[i] as number);
    counts[b] = (counts[b] as number) + 1;
  }
  const means = new Float64Array(bins);
  let last = bytes[0] as number;
  // Irregular sampling leaves gaps; carrying the last mean forward keeps the lags in time units.
  for (let b = 0; b < bins; b++) {
    const count = counts[b] as number;
    if (count > 0) last = (sums[b] as number) / count;
    means[b] = last;
  }
  return { binSeconds, means };
}

/** Lag (in bins) of the highest autocorrelation peak after the first zero crossing, if strong. */
function autocorrelationPeak(values: Float64Array): number | undefined {
  const n = values.length;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  if (!(variance > 0)) return undefined;
  const maxLag = Math.floor(n / 2);
  const r = new Float64Array(maxLag + 2);
  for (let lag = 1; lag <= maxLag + 1 && lag < n; lag++) {
    let sum = 0;
    for (let i = 0; i + lag < n; i++)
      sum += ((values[i] as number) - mean) * ((values[i + lag] as number) - mean);
    r[lag] = sum / variance;
  }
  let crossed = false;
  let bestLag: number | undefined;
  let best = MIN_AUTOCORRELATION;
  for (let lag = 1; lag <= maxLag; lag++) {
    const here = r[lag] as number;
    if (here < 0) crossed = true;
    if (!crossed) continue;
    if (here > best && here >= (r[lag - 1] as number) && here >= (r[lag + 1] as number)) {
      best = here;
      bestLag = lag;
    }
  }
  return bestLag;
}

/** A generous cycle length (90th percentile gap) between the sudden drops of a sawtooth. */
function dropSpacing(timeSeconds: Float64Array, bytes: Float64Array, slope: number): number | undefined {
  const n = timeSeconds.length;
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) residuals[i] = (bytes[i] as number) - slope * (timeSeconds[i] as number);
  const spread = quantile(residuals, 0.95) - quantile(residuals, 0.05);
  if (!(spread > 0)) return undefined;
  const threshold = DROP_SHARE * spread;
  const dropTimes: number[] = [];
  for (let i = 1; i < n; i++) {
    if ((bytes[i - 1] as number) - (bytes[i] as number) >= threshold)
      dropTimes.push(timeSeconds[i] as number);
  }
  if (dropTimes.length < MIN_DROPS) return undefined;
  const gaps = dropTimes.slice(1).map((t, i) => t - (dropTimes[i] as number));
  return quantile(gaps, 0.9);
}
