/** The parsed form of a rule's `when:` text. Thresholds are held in base units (bytes, %, s). */

export type CompareOp = '>' | '>=' | '<' | '<=' | '==';

/** What a threshold is measured in, once parsed. */
export type ValueUnit = 'bytes' | 'percent' | 'count' | 'bytesPerSecond' | 'seconds';

export type Metric =
  | 'rss'
  | 'pss'
  | 'vms'
  | 'mem%'
  | 'limit%'
  | 'cpu%'
  | 'threads'
  | 'growth'
  | 'available'
  | 'oom_in';

export const METRIC_UNITS: Readonly<Record<Metric, ValueUnit>> = {
  rss: 'bytes',
  pss: 'bytes',
  vms: 'bytes',
  'mem%': 'percent',
  'limit%': 'percent',
  'cpu%': 'percent',
  threads: 'count',
  growth: 'bytesPerSecond',
  available: 'bytes',
  oom_in: 'seconds',
};

export interface CompareClause {
  kind: 'compare';
  metric: Metric;
  op: CompareOp;
  threshold: number;
  unit: ValueUnit;
  /** Only for `growth`: the window the growth is measured over. */
  overMs?: number;
  /** The clause as written, for messages. */
  text: string;
}

/** `leak`: true when the trend detector says the process leaks. */
export interface LeakClause {
  kind: 'leak';
  text: string;
}

export type Clause = CompareClause | LeakClause;

/**
 * How long the clauses must hold before the rule fires: at once, for a duration, or in N of the
 * last M cycles.
 */
export type Persistence =
  | { kind: 'immediate' }
  | { kind: 'for'; durationMs: number }
  | { kind: 'count'; times: number; withinCycles: number };

export interface Condition {
  source: string;
  /** All must hold (`and`). */
  clauses: Clause[];
  persistence: Persistence;
}

/** Used when a growth clause has no `over`: long enough to ride out one GC cycle's sawtooth. */
export const DEFAULT_GROWTH_WINDOW_MS = 10 * 60_000;
