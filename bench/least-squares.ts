/**
 * The naive rule behind most alerting, Prometheus `predict_linear`: one least-squares line over
 * the window; growth means a leak. The peer both trend benchmarks measure memwarden against.
 */

/** Same minimum sample count as the detector, so that the baseline is not faulted for it. */
export const BASELINE_MIN_SAMPLES = 16;

/** Least-squares slope over the first `upTo` samples. */
export function leastSquaresSlope(
  series: { timeSeconds: ArrayLike<number>; bytes: ArrayLike<number> },
  upTo = series.timeSeconds.length,
): number {
  const t0 = series.timeSeconds[0] as number;
  let meanT = 0;
  let meanY = 0;
  for (let i = 0; i < upTo; i++) {
    meanT += (series.timeSeconds[i] as number) - t0;
    meanY += series.bytes[i] as number;
  }
  meanT /= upTo;
  meanY /= upTo;
  let covariance = 0;
  let variance = 0;
  for (let i = 0; i < upTo; i++) {
    const dt = (series.timeSeconds[i] as number) - t0 - meanT;
    covariance += dt * ((series.bytes[i] as number) - meanY);
    variance += dt * dt;
  }
  return variance > 0 ? covariance / variance : 0;
}
