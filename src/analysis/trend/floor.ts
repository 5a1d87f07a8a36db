export interface Floor {
  /** End time of each window, seconds. */
  timeSeconds: Float64Array;
  /** Minimum bytes inside each window. */
  bytes: Float64Array;
  /** ≥ 1: how many windows share a given sample; Var(S) of the trend test is scaled by it. */
  overlap: number;
}

/**
 * The floor of a series: the minimum over sliding windows of `windowSeconds`, taken at most
 * `maxPoints` times. A window at least one cycle long always holds a trough, so a GC sawtooth,
 * batch-job spikes, single spikes and a wave's crests all vanish, and what is left moves only
 * with what the process keeps. O(n) with a monotone deque; the input must be sorted by time.
 */
export function slidingFloor(
  timeSeconds: Float64Array,
  bytes: Float64Array,
  windowSeconds: number,
  maxPoints: number,
): Floor {
  const n = timeSeconds.length;
  const start = timeSeconds[0] as number;
  const end = timeSeconds[n - 1] as number;
  const span = end - start - windowSeconds;
  const stepSeconds = Math.max(windowSeconds / 4, span / Math.max(1, maxPoints - 1));
  const count = span > 0 ? Math.floor(span / stepSeconds + 1e-9) + 1 : 1;
  const times = new Float64Array(count);
  const floors = new Float64Array(count);
  const deque = new Int32Array(n);
  let head = 0;
  let tail = 0;
  let next = 0;
  for (let k = 0; k < count; k++) {
    const windowEnd = k === count - 1 ? end : start + windowSeconds + k * stepSeconds;
    const windowStart = windowEnd - windowSeconds;
    while (next < n && (timeSeconds[next] as number) <= windowEnd) {
      const v = bytes[next] as number;
      while (tail > head && (bytes[deque[tail - 1] as number] as number) >= v) tail--;
      deque[tail++] = next++;
    }
    while (tail > head + 1 && (timeSeconds[deque[head] as number] as number) < windowStart) head++;
    times[k] = windowEnd;
    floors[k] = bytes[deque[head] as number] as number;
  }
  return { timeSeconds: times, bytes: floors, overlap: Math.max(1, windowSeconds / stepSeconds) };
}
