/**
 * Time as the actions part needs it: a monotonic clock for backoff, windows and durations, which
 * wall-clock jumps cannot move, and the wall clock only for what is stored or shown. Injectable
 * so that tests can jump either one.
 */
export interface Clock {
  /** Monotonic milliseconds from an arbitrary origin. */
  monotonicMs(): number;
  /** Milliseconds since the epoch. */
  wallMs(): number;
}

export const systemClock: Clock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
};
