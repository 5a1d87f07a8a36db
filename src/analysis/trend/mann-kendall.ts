import { normalUpperTail } from './stats.js';

export interface MannKendall {
  /** Σ sign(x_j − x_i) over all pairs i < j. */
  s: number;
  /** Var(S) under "no trend", corrected for ties and scaled by the caller's inflation. */
  varianceS: number;
  /** One-sided p-value for "the series grows". */
  pValueGrowth: number;
}

/**
 * Mann–Kendall trend test. RSS is counted in whole pages, so a flat floor repeats exact values;
 * the tie correction keeps such a floor from looking more certain than it is. `varianceInflation`
 * (≥ 1) widens Var(S) for series whose points are not independent, e.g. overlapping windows.
 */
export function mannKendall(values: ArrayLike<number>, varianceInflation = 1): MannKendall {
  const n = values.length;
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = values[i] as number;
    for (let j = i + 1; j < n; j++) {
      const d = (values[j] as number) - xi;
      if (d > 0) s++;
      else if (d < 0) s--;
    }
  }
  const sorted = Float64Array.from(values).sort();
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && sorted[j] === sorted[i]) j++;
    const t = j - i;
    if (t > 1) tieTerm += t * (t - 1) * (2 * t + 5);
    i = j;
  }
  const varianceS = (Math.max(0, n * (n - 1) * (2 * n + 5) - tieTerm) / 18) * Math.max(1, varianceInflation);
  return { s, varianceS, pValueGrowth: growthPValue(s, varianceS) };
}

/** One-sided p-value of a Kendall S for growth, with the usual continuity correction. */
export function growthPValue(s: number, varianceS: number): number {
  if (!(varianceS > 0) || s === 0) return 0.5;
  const z = (s > 0 ? s - 1 : s + 1) / Math.sqrt(varianceS);
  return normalUpperTail(z);
}
