import { median, quantile } from './stats.js';
import { theilSen } from './theil-sen.js';

/** Fine enough that a daily period is placed to a few minutes over a week of samples. */
const BINS = 1024;
/** Points the detrending line is fitted through. */
const LINE_POINTS = 64;
/** An autocorrelation peak below this is noise, not a cycle. */
const MIN_AUTOCORRELATION = 0.3;
/** The shortest autocorrelation peak this close to the highest is the period, not a multiple. */
const HARMONIC_SHARE = 0.8;
/** A drop counts as a GC or batch-job end when it falls this share of the value spread at once… */
const DROP_SHARE = 0.5;
/** …and this many times the usual sample-to-sample change, so that noise alone never does. */
const DROP_OVER_STEP = 6;
/** Fewer drops than this are single events (spikes, a restart), not a rhythm. */
export const MIN_DROPS = 4;

export interface Rhythm {
  /** A sawtooth's cycle (from its drops), else a wave's period; floor windows span at least this. */
  cycleSeconds: number | undefined;
  /**
   * The period of a smooth, regular rhythm (a wave), whose phases can be compared cycle to cycle.
   * Undefined for a sawtooth: GC comes at irregular times, so its phases drift from cycle to cycle.
   */
  periodSeconds: number | undefined;
  /** Sudden drops seen, also when too few to time a rhythm by: each says one is there. */
  drops: number;
}

/**
 * The repeating rhythm of a series: a GC sawtooth or batch jobs found by the spacing of their
 * sudden drops (GC is too irregular for autocorrelation to time), else a smooth wave found by
 * autocorrelation. Rhythms longer than `maxCycleSeconds` are ignored: they
 * repeat too few times in the series to be told from a trend.
 */
export function findRhythm(timeSeconds: Float64Array, bytes: Float64Array, maxCycleSeconds: number): Rhythm {
  const start = timeSeconds[0] as number;
  const duration = (timeSeconds[timeSeconds.length - 1] as number) - start;
  if (!(duration > 0)) return { cycleSeconds: undefined, periodSeconds: undefined, drops: 0 };
  const { binSeconds, means } = binMeans(timeSeconds, bytes, Math.min(BINS, timeSeconds.length));
  const binTimes = means.map((_, i) => i * binSeconds);
  // The trend is only removed so that it does not swamp the autocorrelation: a line through a
  // sample of the bins is close enough and far cheaper.
  const stride = Math.max(1, Math.floor(means.length / LINE_POINTS));
  const sampled = (values: Float64Array) => values.filter((_, i) => i % stride === 0);
  const line = theilSen(sampled(binTimes), sampled(means), 0);
  const detrended = means.map((v, i) => v - (line.intercept + line.slope * (binTimes[i] as number)));
  const lag = autocorrelationPeak(detrended);
  const period = lag === undefined ? undefined : lag * binSeconds;
  const periodSeconds = period !== undefined && period <= maxCycleSeconds ? period : undefined;
  const { gap, drops } = dropSpacing(timeSeconds, bytes, line.slope);
  const gapSeconds = gap !== undefined && gap <= maxCycleSeconds ? gap : undefined;
  // Sudden drops mark a sawtooth; its autocorrelation peaks only add multiples of the same cycle.
  if (gapSeconds === undefined) return { cycleSeconds: periodSeconds, periodSeconds, drops };
  return { cycleSeconds: gapSeconds, periodSeconds: undefined, drops };
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

/**
 * Lag (in bins, fractional) of the highest autocorrelation peak after the first zero crossing, if
 * strong. The parabola through the peak and its neighbours refines the lag below one bin, which
 * matters when phases are compared several cycles apart.
 */
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
    // Per pair, not per sample: fewer pairs at longer lags would otherwise pull the peak short.
    r[lag] = sum / (n - lag) / (variance / n);
  }
  const peaks: number[] = [];
  let crossed = false;
  for (let lag = 1; lag <= maxLag; lag++) {
    const here = r[lag] as number;
    if (here < 0) crossed = true;
    if (
      crossed &&
      here > MIN_AUTOCORRELATION &&
      here >= (r[lag - 1] as number) &&
      here >= (r[lag + 1] as number)
    ) {
      peaks.push(lag);
    }
  }
  if (peaks.length === 0) return undefined;
  // Multiples of the period peak too, and noise can lift one a little above the period itself.
  const highest = Math.max(...peaks.map((lag) => r[lag] as number));
  const bestLag = peaks.find((lag) => (r[lag] as number) >= HARMONIC_SHARE * highest) as number;
  const best = r[bestLag] as number;
  const left = r[bestLag - 1] as number;
  const right = r[bestLag + 1] as number;
  const curvature = left - 2 * best + right;
  return curvature < 0 ? bestLag + (0.5 * (left - right)) / curvature : bestLag;
}

/** Readings after a drop that must stay down for it to count. */
const STAYS_DOWN_READINGS = 3;

/** A collection leaves memory down for a while; a low reading or two that come back are noise. */
function staysDown(bytes: Float64Array, at: number, below: number): boolean {
  const end = Math.min(bytes.length, at + 1 + STAYS_DOWN_READINGS);
  for (let i = at + 1; i < end; i++) if ((bytes[i] as number) > below) return false;
  return true;
}

/** A generous cycle length (90th percentile gap) between the sudden drops of a sawtooth. */
function dropSpacing(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  slope: number,
): { gap: number | undefined; drops: number } {
  const n = timeSeconds.length;
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) residuals[i] = (bytes[i] as number) - slope * (timeSeconds[i] as number);
  const spread = quantile(residuals, 0.95) - quantile(residuals, 0.05);
  if (!(spread > 0)) return { gap: undefined, drops: 0 };
  const steps = new Float64Array(n - 1);
  for (let i = 1; i < n; i++) steps[i - 1] = Math.abs((bytes[i] as number) - (bytes[i - 1] as number));
  const threshold = Math.max(DROP_SHARE * spread, DROP_OVER_STEP * median(steps));
  const dropTimes: number[] = [];
  for (let i = 1; i < n; i++) {
    const before = bytes[i - 1] as number;
    if (before - (bytes[i] as number) >= threshold && staysDown(bytes, i, before - threshold / 2))
      dropTimes.push(timeSeconds[i] as number);
  }
  const drops = dropTimes.length;
  if (drops < MIN_DROPS) return { gap: undefined, drops };
  const gaps = dropTimes.slice(1).map((t, i) => t - (dropTimes[i] as number));
  return { gap: quantile(gaps, 0.9), drops };
}
