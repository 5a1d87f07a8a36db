/**
 * export: memwarden's samples for other systems — the Prometheus text exposition of each tick
 * (per target, bounded cardinality, rendered once and cached) and the tick shape every view reads.
 */
export { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
export { MetricsCache } from './metrics-cache.js';
export type { DaemonCounters, TargetTick, TargetTrend, Tick } from './tick.js';
