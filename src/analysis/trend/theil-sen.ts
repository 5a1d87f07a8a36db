import { median, sortedQuantile, Z_95 } from './stats.js';

export interface TheilSen {
  slope: number;
  intercept: number;
  /** 95 % interval of the slope (Sen's rank method). */
  slopeLow: number;
  slopeHigh: number;
}

/**
 * Theil–Sen line through (x, y): the median of all pairwise slopes, so up to ~29 % of wild points
 * move it not at all. The interval comes from the ranks of the pairwise slopes given Var(S) of the
 * Mann–Kendall statistic on the same points. O(n² log n): callers hand it at most a few hundred
 * points.
 */
export function theilSen(x: ArrayLike<number>, y: ArrayLike<number>, varianceS: number): TheilSen {
  const n = Math.min(x.length, y.length);
  const slopes = new Float64Array((n * (n - 1)) / 2);
  let count = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    for (let j = i + 1; j < n; j++) {
      const dx = (x[j] as number) - xi;
      if (dx !== 0) slopes[count++] = ((y[j] as number) - yi) / dx;
    }
  }
  if (count === 0) {
    const level = n > 0 ? median(y) : Number.NaN;
    return { slope: 0, intercept: level, slopeLow: 0, slopeHigh: 0 };
  }
  const sorted = slopes.subarray(0, count).sort();
  const slope = sortedQuantile(sorted, 0.5);
  const residuals = new Float64Array(n);
  for (let i = 0; i < n; i++) residuals[i] = (y[i] as number) - slope * (x[i] as number);
  return {
    slope,
    intercept: median(residuals),
    ...slopeInterval(sorted, varianceS),
  };
}

/** Sen's 95 % interval: the pairwise slopes at the ranks that Var(S) of Kendall's S allows. */
export function slopeInterval(
  sortedSlopes: Float64Array,
  varianceS: number,
): { slopeLow: number; slopeHigh: number } {
  const count = sortedSlopes.length;
  const c = Z_95 * Math.sqrt(varianceS);
  const rank = (r: number) => sortedSlopes[Math.max(0, Math.min(count - 1, r))] as number;
  return { slopeLow: rank(Math.floor((count - c) / 2)), slopeHigh: rank(Math.ceil((count + c) / 2)) };
}
