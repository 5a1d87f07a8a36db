import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detectTrend } from '../analysis/trend/index.js';
import { MemwardenError } from '../errors.js';
import { parseSize } from '../units/index.js';
import { type ReleaseStep, skippedStep } from './probe.js';
import { defaultSnapshotName } from './snapshot-name.js';

export interface LeakOptions {
  /** heapUsed readings kept for the trend (one per check). Default 720: two hours at 10 s. */
  samples?: number;
  /** The heap limit the time-to-limit is counted against; default V8's own heap size limit. */
  limit?: string | number;
}

export interface GuardOptions {
  /** Threshold on `process.memoryUsage().heapUsed`: `'300MB'` or bytes. */
  heapUsedAbove?: string | number;
  /** Threshold on the process's RSS. */
  rssAbove?: string | number;
  /** How often to look. Default 10 s. */
  intervalMs?: number;
  /** Least time between two threshold actions (gc, snapshot). Default 60 s. */
  cooldownMs?: number;
  onThreshold?: (event: ThresholdEvent) => void;
  /** Write a heap snapshot here when a threshold is crossed. */
  snapshotDir?: string;
  /** Run a full garbage collection when a threshold is crossed. */
  gc?: boolean;
  /**
   * Report a leak: the trend detector (the one `memwarden analyze` uses) run over heapUsed after
   * every check; `true` for the defaults.
   */
  leak?: boolean | LeakOptions;
  /** Monotonic milliseconds for cooldowns and the leak series; default `performance.now`. */
  clock?: () => number;
}

export interface MemoryReading {
  heapUsed: number;
  heapTotal: number;
  rss: number;
}

export interface ThresholdEvent {
  metric: 'heapUsed' | 'rss';
  value: number;
  limit: number;
  usage: MemoryReading;
}

export interface GcEvent {
  before: MemoryReading;
  after: MemoryReading;
  durationMs: number;
  /**
   * collect, then trim as `memwarden gc` reports them. The trim never runs in-process: Node has
   * no way to call malloc_trim from JavaScript without a native addon, so memory the collection
   * freed outside the V8 heap (Buffers, strings' backing stores) may stay resident; the trim
   * step says so and what to do.
   */
  steps: ReleaseStep[];
}

export interface LeakEvent {
  /** Growth of the heap's post-GC floor. */
  slopeBytesPerSecond: number;
  /** Until heapUsed reaches the limit at that slope. */
  timeToLimitSeconds?: number;
  /** The detector's one-line reason. */
  reason: string;
}

export interface GuardEvents {
  threshold: [ThresholdEvent];
  gc: [GcEvent];
  snapshot: [{ path: string }];
  leak: [LeakEvent];
  error: [Error];
}

function bytesOf(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0)
      throw new MemwardenError('MW_BAD_VALUE', `${what}: ${value} is not a size`);
    return value;
  }
  return parseSize(value);
}

function reading(): MemoryReading {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss };
}

let gcFunction: (() => void) | undefined;

/**
 * The engine's `gc()` without the user starting Node with `--expose-gc`: the flag is set now,
 * and a fresh context created after it gets the `gc` global.
 */
export function exposedGc(): () => void {
  if (!gcFunction) {
    const existing = (globalThis as { gc?: unknown }).gc;
    if (typeof existing === 'function') gcFunction = existing as () => void;
    else {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    }
  }
  return gcFunction;
}

/** Why guard() cannot trim, in words for its `gc` event. */
const IN_PROCESS_TRIM =
  'malloc_trim cannot be called from JavaScript without a native addon; freed memory outside the V8 heap ' +
  `may stay in this process's malloc until \`memwarden gc ${process.pid}\` trims it from outside (through lldb)`;

/** A full garbage collection in this process, with memory read before and after. */
export function collectOwnGarbage(): GcEvent {
  const before = reading();
  const started = performance.now();
  exposedGc()();
  const durationMs = performance.now() - started;
  const after = reading();
  return {
    before,
    after,
    durationMs,
    steps: [
      {
        step: 'collect',
        ran: true,
        via: 'a full V8 GC in-process',
        rssBefore: before.rss,
        rssAfter: after.rss,
        durationMs,
        details: { heapUsedBefore: before.heapUsed, heapUsedAfter: after.heapUsed },
      },
      skippedStep('trim', IN_PROCESS_TRIM),
    ],
  };
}

export class Guard extends EventEmitter<GuardEvents> {
  private readonly timer: NodeJS.Timeout;
  private readonly heapLimit: number | undefined;
  private readonly rssLimit: number | undefined;
  private readonly cooldownMs: number;
  private lastActionAt = Number.NEGATIVE_INFINITY;
  private readonly above = new Set<ThresholdEvent['metric']>();
  private readonly leak: { samples: number; limitBytes: number } | undefined;
  private readonly clock: () => number;
  private readonly leakSeries: { timeSeconds: number[]; bytes: number[] } = { timeSeconds: [], bytes: [] };
  private lastLeakAt = Number.NEGATIVE_INFINITY;
  private stopped = false;

  constructor(private readonly options: GuardOptions) {
    super();
    this.clock = options.clock ?? (() => performance.now());
    this.heapLimit = bytesOf(options.heapUsedAbove, 'heapUsedAbove');
    this.rssLimit = bytesOf(options.rssAbove, 'rssAbove');
    this.cooldownMs = options.cooldownMs ?? 60_000;
    if (options.leak) {
      const l = options.leak === true ? {} : options.leak;
      this.leak = {
        samples: l.samples ?? 720,
        limitBytes: bytesOf(l.limit, 'leak.limit') ?? getHeapStatistics().heap_size_limit,
      };
    }
    const intervalMs = options.intervalMs ?? 10_000;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new MemwardenError('MW_BAD_VALUE', `intervalMs: ${intervalMs} is not a positive number`);
    }
    this.timer = setInterval(() => this.tick(), intervalMs);
    // A watchdog must never be the reason a finished program keeps running.
    this.timer.unref();
  }

  /** Looks once, now: emits what is due and returns the crossings seen. */
  check(): ThresholdEvent[] {
    const usage = reading();
    const crossed: ThresholdEvent[] = [];
    const test = (metric: ThresholdEvent['metric'], value: number, limit: number | undefined) => {
      if (limit === undefined) return;
      if (value <= limit) {
        this.above.delete(metric);
        return;
      }
      // Edge-triggered: one event per crossing, re-armed when the value falls back below.
      if (this.above.has(metric)) return;
      this.above.add(metric);
      crossed.push({ metric, value, limit, usage });
    };
    test('heapUsed', usage.heapUsed, this.heapLimit);
    test('rss', usage.rss, this.rssLimit);
    for (const event of crossed) {
      this.emit('threshold', event);
      this.options.onThreshold?.(event);
    }
    if (crossed.length > 0) this.act();
    if (this.leak) this.trackLeak(usage.heapUsed);
    return crossed;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      this.check();
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      // An 'error' event with no listener would throw from a timer and crash the app it guards.
      if (this.listenerCount('error') > 0) this.emit('error', error);
    }
  }

  private act(): void {
    const now = this.clock();
    if (now - this.lastActionAt < this.cooldownMs) return;
    this.lastActionAt = now;
    if (this.options.gc) this.emit('gc', collectOwnGarbage());
    if (this.options.snapshotDir) {
      const path = join(this.options.snapshotDir, defaultSnapshotName(process.pid, '.heapsnapshot'));
      this.emit('snapshot', { path: writeHeapSnapshot(path) });
    }
  }

  private trackLeak(heapUsed: number): void {
    const leak = this.leak;
    if (!leak) return;
    const series = this.leakSeries;
    series.timeSeconds.push(this.clock() / 1000);
    series.bytes.push(heapUsed);
    if (series.bytes.length > leak.samples) {
      series.timeSeconds.shift();
      series.bytes.shift();
    }
    const trend = detectTrend(series, { limitBytes: leak.limitBytes });
    // A leak goes on being one: it is reported again only after the cooldown.
    const now = this.clock();
    if (trend.verdict !== 'leak' || now - this.lastLeakAt < this.cooldownMs) return;
    this.lastLeakAt = now;
    const event: LeakEvent = { slopeBytesPerSecond: trend.slopeBytesPerSecond ?? 0, reason: trend.reason };
    if (trend.timeToLimitSeconds !== undefined) event.timeToLimitSeconds = trend.timeToLimitSeconds;
    this.emit('leak', event);
  }
}

/**
 * Guards the current process: watches its own heap and RSS every `intervalMs` on an unref'd
 * timer, and on a threshold emits `threshold`, then optionally collects garbage (`gc`) and
 * writes a heap snapshot (`snapshot`). `leak` reports a heap that leaks, by the trend detector.
 */
export function guard(options: GuardOptions): Guard {
  return new Guard(options);
}
