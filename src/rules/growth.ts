/** Points kept per process: enough resolution for a growth rate, small enough for 10k processes. */
const POINTS_PER_WINDOW = 32;

/**
 * A process's RSS over the longest growth window any rule uses, thinned to about
 * POINTS_PER_WINDOW points so that its size does not depend on the sampling interval.
 */
export class GrowthHistory {
  private readonly timesMs: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.timesMs.length;
  }

  record(nowMs: number, rssBytes: number): void {
    const spacingMs = this.windowMs / POINTS_PER_WINDOW;
    const lastMs = this.timesMs[this.timesMs.length - 1];
    if (lastMs === undefined || nowMs - lastMs >= spacingMs) {
      this.timesMs.push(nowMs);
      this.values.push(rssBytes);
    }
    // Keep exactly one point at or before the window's start: the base the growth is measured from.
    while (this.timesMs.length > 2 && (this.timesMs[1] ?? nowMs) <= nowMs - this.windowMs) {
      this.timesMs.shift();
      this.values.shift();
    }
  }

  /** Bytes per second over the last `windowMs`; undefined until the history spans that long. */
  bytesPerSecond(nowMs: number, rssBytes: number, windowMs: number): number | undefined {
    let baseIndex = -1;
    for (let i = 0; i < this.timesMs.length; i++) {
      if ((this.timesMs[i] ?? nowMs) <= nowMs - windowMs) baseIndex = i;
      else break;
    }
    const baseMs = this.timesMs[baseIndex];
    const baseBytes = this.values[baseIndex];
    if (baseMs === undefined || baseBytes === undefined || nowMs <= baseMs) return undefined;
    return ((rssBytes - baseBytes) * 1000) / (nowMs - baseMs);
  }
}
