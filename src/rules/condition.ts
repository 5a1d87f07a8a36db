/** The parsed form of a rule's `when:` text. Thresholds are held in base units (bytes, %, s). */

export type CompareOp = '>' | '>=' | '<' | '<=' | '==';

/** What a threshold is measured in, once parsed. */
export type ValueUnit = 'bytes' | 'percent' | 'count' | 'bytesPerSecond' | 'seconds';

type PressureKind = 'some' | 'full';
type PressureWindow = '' | '10' | '60' | '300';
/**
 * Memory pressure (PSI), a percentage of time stalled: the machine's (`psi.full`), or that of the
 * process's cgroup (`cgroup.psi.full`); over 10 s unless a window is named (`psi.full60`).
 */
export type PressureMetric =
  | `psi.${PressureKind}${PressureWindow}`
  | `cgroup.psi.${PressureKind}${PressureWindow}`;

export const PRESSURE_METRICS: readonly PressureMetric[] = (['psi', 'cgroup.psi'] as const).flatMap((scope) =>
  (['some', 'full'] as const).flatMap((kind) =>
    (['', '10', '60', '300'] as const).map((window) => `${scope}.${kind}${window}` as PressureMetric),
  ),
);

export type Metric =
  | PressureMetric
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
  ...(Object.fromEntries(PRESSURE_METRICS.map((m) => [m, 'percent'])) as Record<PressureMetric, ValueUnit>),
};

export interface CompareClause {
  kind: 'compare';
  metric: Metric;
  op: CompareOp;
  threshold: number;
  /** `available` may be a size or a percentage of the machine's (or the guarded cgroup's) memory. */
  unit: ValueUnit;
  /** Only for `growth`: the window the growth is measured over. */
  overMs?: number;
  /** The clause as written, for messages. */
  text: string;
}

/**
 * A yes/no fact about the process: `leak` when the trend detector says it leaks, `oom_killed`
 * in the one tick that learns the kernel's OOM killer killed it.
 */
export interface FlagClause {
  kind: 'leak' | 'oom_killed';
  text: string;
}

export type Clause = CompareClause | FlagClause;

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
  /** All must hold (`and`), unless `or` splits them into alternatives. */
  clauses: Clause[];
  /** Where each alternative after the first begins in `clauses` (`a and b or c` → [2]). */
  or?: number[];
  persistence: Persistence;
}

/** Used when a growth clause has no `over`: long enough to ride out one GC cycle's sawtooth. */
export const DEFAULT_GROWTH_WINDOW_MS = 10 * 60_000;
