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

/** Every kind and window of a pressure name under `prefix` (`psi` → `psi.some`, `psi.some10`, …). */
export function pressureNames<P extends string>(prefix: P): `${P}.${PressureKind}${PressureWindow}`[] {
  return (['some', 'full'] as const).flatMap((kind) =>
    (['', '10', '60', '300'] as const).map((window) => `${prefix}.${kind}${window}` as const),
  );
}

export const PRESSURE_METRICS: readonly PressureMetric[] = [
  ...pressureNames('psi'),
  ...pressureNames('cgroup.psi'),
];

/**
 * Measures of a target as a whole, read once per target and cycle: sums over its processes
 * (`total.pss` divides shared pages among their users, so a page shared by five processes counts
 * once), their number, and for a target named by cgroup, unit or container that cgroup's own
 * `memory.current`, `memory.max`, their ratio (`total.limit%`) and its PSI (`total.psi.some`).
 */
export type GroupMetric =
  | 'total.rss'
  | 'total.pss'
  | 'total.uss'
  | 'count'
  | 'memory.current'
  | 'memory.max'
  | 'total.limit%'
  | GroupPressureMetric;

type GroupPressureMetric = `total.psi.${PressureKind}${PressureWindow}`;

const GROUP_PRESSURE_METRICS: GroupPressureMetric[] = pressureNames('total.psi');

export type Metric =
  | PressureMetric
  | GroupMetric
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
  'total.rss': 'bytes',
  'total.pss': 'bytes',
  'total.uss': 'bytes',
  count: 'count',
  'memory.current': 'bytes',
  'memory.max': 'bytes',
  'total.limit%': 'percent',
  ...(Object.fromEntries(GROUP_PRESSURE_METRICS.map((m) => [m, 'percent'])) as Record<
    GroupPressureMetric,
    ValueUnit
  >),
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

/** The metrics about a whole target; a rule with one of them is a group rule. */
export const GROUP_METRICS: ReadonlySet<Metric> = new Set<Metric>([
  'total.rss',
  'total.pss',
  'total.uss',
  'count',
  'memory.current',
  'memory.max',
  'total.limit%',
  ...GROUP_PRESSURE_METRICS,
]);

/** The machine's own measures, which mean the same in a process rule and in a group rule. */
export const MACHINE_METRICS: ReadonlySet<Metric> = new Set<Metric>([
  'available',
  ...PRESSURE_METRICS.filter((m) => m.startsWith('psi.')),
]);

/**
 * What a rule is about: each process of its target (the default), or the target as one group,
 * which fires once for the group however many processes it has.
 */
export type RuleScope = 'process' | 'group';

export interface Condition {
  source: string;
  /** Absent for a per-process rule, so the conditions of existing rules stay as they were. */
  scope?: 'group';
  /** All must hold (`and`), unless `or` splits them into alternatives. */
  clauses: Clause[];
  /** Where each alternative after the first begins in `clauses` (`a and b or c` → [2]). */
  or?: number[];
  persistence: Persistence;
}

/** Used when a growth clause has no `over`: long enough to ride out one GC cycle's sawtooth. */
export const DEFAULT_GROWTH_WINDOW_MS = 10 * 60_000;
