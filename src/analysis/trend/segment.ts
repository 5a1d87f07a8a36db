import { type TheilSen, theilSen } from './theil-sen.js';

/** A split must cut the robust misfit by this share to be believed over one straight line. */
const MIN_SPLIT_GAIN = 0.35;
/** Candidate bends tried; each costs two Theil–Sen fits, and a bend need not be placed finer. */
const MAX_CANDIDATES = 16;

/**
 * Where the current regime of a floor series starts. A reload (step), a cache that filled up
 * (plateau) or a leak that began late all bend the floor once; fitting one Theil–Sen line before
 * and one after the best bend, against one line for all, tells whether there is a bend worth
 * believing. Only what comes after it describes the process now. Returns an index into the series.
 */
export function currentRegimeStart(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  minPoints: number,
): number {
  const n = timeSeconds.length;
  if (n < 2 * minPoints) return 0;
  const whole = absoluteMisfit(timeSeconds, bytes, 0, n);
  let bestMisfit = Number.POSITIVE_INFINITY;
  let bestStart = 0;
  const step = Math.max(1, Math.ceil((n - 2 * minPoints) / MAX_CANDIDATES));
  for (let k = minPoints; k <= n - minPoints; k += step) {
    const misfit = absoluteMisfit(timeSeconds, bytes, 0, k) + absoluteMisfit(timeSeconds, bytes, k, n);
    if (misfit < bestMisfit) {
      bestMisfit = misfit;
      bestStart = k;
    }
  }
  return bestMisfit < whole * (1 - MIN_SPLIT_GAIN) ? bestStart : 0;
}

function absoluteMisfit(timeSeconds: Float64Array, bytes: Float64Array, from: number, to: number): number {
  const x = timeSeconds.subarray(from, to);
  const y = bytes.subarray(from, to);
  const fit: TheilSen = theilSen(x, y, 0);
  let sum = 0;
  for (let i = 0; i < x.length; i++)
    sum += Math.abs((y[i] as number) - fit.intercept - fit.slope * (x[i] as number));
  return sum;
}
