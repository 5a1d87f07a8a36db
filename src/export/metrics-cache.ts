import { renderMetrics } from './metrics.js';
import type { Tick } from './tick.js';

/**
 * The exposition rendered once per tick and handed to every scrape as is, so 200 concurrent
 * scrapes cost 200 writes of one string and never a walk over the processes. Only
 * `memwarden_up` is decided at scrape time: a daemon whose ticks stopped must read as down.
 */
export class MetricsCache {
  private body = '';
  private lastTickMonotonicMs: number | undefined;
  private readonly errors = { count: 0 };

  /** @param staleAfterMs how long after the last tick `memwarden_up` turns 0 (a few intervals). */
  constructor(private readonly staleAfterMs: number) {}

  update(tick: Tick, nowMonotonicMs: number = performance.now()): void {
    this.body = renderMetrics(tick, this.errors);
    this.lastTickMonotonicMs = nowMonotonicMs;
  }

  text(nowMonotonicMs: number = performance.now()): string {
    const fresh =
      this.lastTickMonotonicMs !== undefined &&
      nowMonotonicMs - this.lastTickMonotonicMs <= this.staleAfterMs;
    return `# HELP memwarden_up 1 when memwarden has completed a tick recently.\n# TYPE memwarden_up gauge\nmemwarden_up ${fresh ? 1 : 0}\n${this.body}`;
  }
}
