import type { ProcessSample } from '../sample/index.js';
import { escapeHelp, escapeLabelValue, formatSampleValue } from './escape.js';
import type { TargetTick, Tick } from './tick.js';

/** The content type Prometheus expects for text format 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type MetricType = 'gauge' | 'counter';

interface Family {
  type: MetricType;
  help: string;
  lines: string[];
}

/** Families in first-use order; each family's samples are written together, as the format requires. */
class Exposition {
  private readonly families = new Map<string, Family>();

  add(name: string, type: MetricType, help: string, value: number, labels?: Record<string, string>): void {
    let family = this.families.get(name);
    if (!family) {
      family = { type, help, lines: [] };
      this.families.set(name, family);
    }
    const labelText = labels
      ? `{${Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
          .join(',')}}`
      : '';
    family.lines.push(`${name}${labelText} ${formatSampleValue(value)}`);
  }

  text(): string {
    let out = '';
    for (const [name, family] of this.families) {
      out += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
      out += `${family.lines.join('\n')}\n`;
    }
    return out;
  }
}

interface TargetTotals {
  processes: number;
  rssBytes: number;
  pssBytes?: number;
  /** The oldest of the PSS values summed, when a time budget kept earlier reads. */
  pssAgeMs?: number;
  swapBytes?: number;
  cpuRatio: number;
  memoryLimitRatio?: number;
}

function usable(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}

/**
 * Sums a target's processes. A field a process could not read is skipped, not taken as zero
 * for the whole target, and never makes the target fail.
 */
function totals(processes: readonly ProcessSample[]): TargetTotals {
  const t: TargetTotals = { processes: processes.length, rssBytes: 0, cpuRatio: 0 };
  for (const p of processes) {
    if (usable(p.rss)) t.rssBytes += p.rss;
    if (usable(p.pss)) t.pssBytes = (t.pssBytes ?? 0) + p.pss;
    if (usable(p.pss) && usable(p.pssAgeMs)) t.pssAgeMs = Math.max(t.pssAgeMs ?? 0, p.pssAgeMs);
    if (usable(p.swap)) t.swapBytes = (t.swapBytes ?? 0) + p.swap;
    if (usable(p.cpuPercent)) t.cpuRatio += p.cpuPercent / 100;
    if (usable(p.memLimitPercent))
      t.memoryLimitRatio = Math.max(t.memoryLimitRatio ?? 0, p.memLimitPercent / 100);
  }
  return t;
}

type Series = [name: string, help: string, value: number, labels?: Record<string, string>];

/** The target's series, computed before any is written so a failure leaves none half-written. */
function targetSeries(target: TargetTick, memTotalBytes: number): Series[] {
  const t = totals(target.processes);
  const series: Series[] = [
    ['memwarden_target_processes', 'Processes the target matches now.', t.processes],
    ['memwarden_target_rss_bytes', 'Resident set size summed over the target.', t.rssBytes],
  ];
  if (t.pssBytes !== undefined)
    series.push([
      'memwarden_target_pss_bytes',
      "Proportional set size summed over the target's processes whose PSS was read: each shared page divided among the processes that map it, so shared memory counts once.",
      t.pssBytes,
    ]);
  if (t.pssAgeMs !== undefined)
    series.push([
      'memwarden_target_pss_age_seconds',
      'Age of the oldest PSS value in memwarden_target_pss_bytes (PSS is read on a time budget).',
      t.pssAgeMs / 1000,
    ]);
  if (t.swapBytes !== undefined)
    series.push(['memwarden_target_swap_bytes', 'Swapped-out memory summed over the target.', t.swapBytes]);
  series.push([
    'memwarden_target_cpu_ratio',
    'CPU used by the target over the last tick; 1 is one core.',
    t.cpuRatio,
  ]);
  if (memTotalBytes > 0)
    series.push([
      'memwarden_target_memory_ratio',
      "The target's RSS as a fraction of the machine's memory.",
      t.rssBytes / memTotalBytes,
    ]);
  if (t.memoryLimitRatio !== undefined)
    series.push([
      'memwarden_target_memory_limit_ratio',
      "The highest RSS / cgroup memory.max among the target's processes.",
      t.memoryLimitRatio,
    ]);
  const cgroup = target.cgroup;
  if (cgroup?.currentBytes !== undefined)
    series.push([
      'memwarden_target_cgroup_memory_current_bytes',
      "For a target named by cgroup, unit or container: that cgroup's memory.current (v1: memory.usage_in_bytes).",
      cgroup.currentBytes,
    ]);
  if (cgroup?.limitBytes !== undefined)
    series.push([
      'memwarden_target_cgroup_memory_max_bytes',
      "The memory limit on the target's cgroup: its own memory.max or the nearest ancestor's (v1: memory.limit_in_bytes).",
      cgroup.limitBytes,
    ]);
  series.push(...pressureSeries(target));
  const trend = target.trend;
  if (trend && trend.verdict !== 'insufficient')
    series.push([
      'memwarden_target_leak',
      '1 when the leak detector judges the target to be leaking, 0 when it judges it not to be.',
      trend.verdict === 'leak' ? 1 : 0,
    ]);
  if (trend?.verdict === 'insufficient' && trend.neededSeconds !== undefined)
    series.push([
      'memwarden_target_leak_evidence_needed_seconds',
      'While the leak detector has too little data for a verdict: about how much longer it needs.',
      trend.neededSeconds,
    ]);
  if (trend?.slopeBytesPerSecond !== undefined && Number.isFinite(trend.slopeBytesPerSecond))
    series.push([
      'memwarden_target_leak_slope_bytes_per_second',
      "Growth rate of the target's post-GC memory floor.",
      trend.slopeBytesPerSecond,
    ]);
  if (trend?.timeToLimitSeconds !== undefined && Number.isFinite(trend.timeToLimitSeconds))
    series.push([
      'memwarden_target_time_to_limit_seconds',
      'Time until the target reaches its memory limit at the current slope.',
      trend.timeToLimitSeconds,
    ]);
  return series;
}

const PRESSURE_WINDOWS = ['10', '60', '300'] as const;

/**
 * The target's cgroup memory pressure: for a target named by cgroup, unit or container its own
 * group's; else, per kind and window, the highest among its processes' groups (as the limit
 * ratio is the highest): the group that stalls is the one to look at.
 */
function pressureSeries(target: TargetTick): Series[] {
  const pressures = target.cgroup ? [target.cgroup.pressure] : target.processes.map((p) => p.cgroupPressure);
  const series: Series[] = [];
  for (const kind of ['some', 'full'] as const) {
    for (const window of PRESSURE_WINDOWS) {
      let highest: number | undefined;
      for (const pressure of pressures) {
        const value = pressure?.[kind]?.[`avg${window}`];
        if (value !== undefined) highest = Math.max(highest ?? 0, value);
      }
      if (highest !== undefined)
        series.push([
          'memwarden_target_cgroup_memory_pressure_ratio',
          "Share of time some (or all) tasks of the target's cgroup v2 group stalled on memory (its memory.pressure), averaged over the window; the group's own for a target named by cgroup, unit or container, else the highest among its processes' groups.",
          highest / 100,
          { kind, window: `${window}s` },
        ]);
    }
  }
  return series;
}

/**
 * Renders one tick in the Prometheus text format. Series are per target (summed over its
 * processes), never per pid, so the number of series is bounded by the config. A target that
 * cannot be rendered, or repeats an earlier target's name, is left out and counted in `errors`.
 */
export function renderMetrics(tick: Tick, errors: { count: number } = { count: 0 }): string {
  const out = new Exposition();
  const s = tick.system;
  const c = tick.counters;
  const seen = new Set<string>();
  for (const target of tick.targets) {
    if (seen.has(target.name)) {
      errors.count++;
      continue;
    }
    seen.add(target.name);
    // A count hidepid keeps from us is absent (unknown), not 0: an alert on `== 0` must not fire.
    if (target.unknown) continue;
    let series: Series[];
    try {
      series = targetSeries(target, s.memTotal);
    } catch {
      errors.count++;
      continue;
    }
    for (const [name, help, value, labels] of series)
      out.add(name, 'gauge', help, value, { target: target.name, ...labels });
    const kills = tick.counters.oomKills;
    if (kills)
      out.add(
        'memwarden_target_oom_kills_total',
        'counter',
        "Processes of the target the kernel's OOM killer killed since memwarden started.",
        kills.byTarget.get(target.name) ?? 0,
        { target: target.name },
      );
  }
  out.add('memwarden_system_memory_total_bytes', 'gauge', "The machine's memory (MemTotal).", s.memTotal);
  out.add(
    'memwarden_system_memory_available_bytes',
    'gauge',
    'Memory available to new work without swapping (MemAvailable).',
    s.memAvailable,
  );
  out.add('memwarden_system_swap_total_bytes', 'gauge', 'Swap space.', s.swapTotal);
  out.add('memwarden_system_swap_free_bytes', 'gauge', 'Unused swap space.', s.swapFree);
  if (s.cpuPercent !== undefined)
    out.add(
      'memwarden_system_cpu_ratio',
      'gauge',
      'Busy fraction of all CPUs together over the last tick.',
      s.cpuPercent / 100,
    );
  out.add('memwarden_system_load1', 'gauge', 'One-minute load average.', s.load1);
  if (s.pressure) {
    for (const kind of ['some', 'full'] as const) {
      const line = s.pressure[kind];
      if (!line) continue;
      for (const window of PRESSURE_WINDOWS)
        out.add(
          'memwarden_system_memory_pressure_ratio',
          'gauge',
          'Share of time some (or all) tasks stalled on memory (PSI), averaged over the window.',
          line[`avg${window}`] / 100,
          { kind, window: `${window}s` },
        );
    }
    for (const kind of ['some', 'full'] as const) {
      const line = s.pressure[kind];
      if (line)
        out.add(
          'memwarden_system_memory_pressure_stalled_seconds_total',
          'counter',
          'Time some (or all) tasks stalled on memory since boot (PSI total).',
          line.totalUs / 1e6,
          { kind },
        );
    }
  }
  if (c.oomKills)
    out.add(
      'memwarden_oom_kills_total',
      'counter',
      "Processes the kernel's OOM killer killed since memwarden started (all the machine's, from the kernel log).",
      c.oomKills.machine,
    );
  out.add(
    'memwarden_config_last_reload_success',
    'gauge',
    'Whether the last configuration load succeeded.',
    c.configLastReloadSuccess ? 1 : 0,
  );
  for (const kind of ['denied', 'failed'] as const)
    out.add(
      'memwarden_proc_read_errors_total',
      'counter',
      'Reads of /proc that failed for a reason other than the process being gone.',
      c.procReadErrors[kind],
      { kind },
    );
  out.add(
    'memwarden_cycle_overruns_total',
    'counter',
    'Ticks skipped because the previous one was still running.',
    c.cycleOverruns,
  );
  out.add(
    'memwarden_storage_write_errors_total',
    'counter',
    'Writes to the history file that failed (the samples are kept in memory and retried).',
    c.storageWriteErrors,
  );
  out.add(
    'memwarden_samples_dropped_total',
    'counter',
    'Samples given up on because the history file could not be written and the backlog was full.',
    c.samplesDropped,
  );
  out.add(
    'memwarden_cycle_errors_total',
    'counter',
    'Cycles lost to a failed system call, such as too many open files.',
    c.cycleErrors,
  );
  out.add(
    'memwarden_last_cycle_duration_seconds',
    'gauge',
    'How long the last tick took.',
    c.lastCycleDurationMs / 1000,
  );
  out.add(
    'memwarden_last_tick_timestamp_seconds',
    'gauge',
    'Wall-clock time of the last tick.',
    tick.time / 1000,
  );
  out.add(
    'memwarden_exposition_errors_total',
    'counter',
    'Targets left out of an exposition because they could not be rendered.',
    errors.count,
  );
  return out.text();
}
