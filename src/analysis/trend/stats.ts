/**
 * Upper tail of the standard normal, P(Z > z) (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
 * Computed directly rather than as 1 − CDF so that tiny p-values do not round to zero.
 */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const halfComplement = 0.5 * poly * Math.exp(-x * x);
  return z >= 0 ? halfComplement : 1 - halfComplement;
}

/** Two-sided 95 % quantile of the standard normal. */
export const Z_95 = 1.959963984540054;

/** Linear-interpolated quantile of an ascending-sorted array; `q` in [0, 1]. */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function quantile(values: ArrayLike<number>, q: number): number {
  return sortedQuantile(Float64Array.from(values).sort(), q);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}
