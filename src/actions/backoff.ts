/**
 * Exponential backoff: `baseMs × 2^attempt`, at most `maxMs`. With `random` (0–1), "equal jitter":
 * the delay is drawn from its upper half, so retries from many events spread out instead of
 * arriving at a recovering endpoint together, while still growing.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random?: number): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt));
  if (random === undefined) return full;
  return Math.round(full / 2 + (full / 2) * random);
}
