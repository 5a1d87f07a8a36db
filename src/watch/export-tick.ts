import type { TargetTrend, Tick } from '../export/index.js';
import type { ProcessTrend } from './trends.js';
import type { Cycle, WatcherCounters } from './watcher.js';

/**
 * A target's trend from its processes' ones: a leak if any of them leaks, at the fastest slope,
 * reaching its limit at the soonest time.
 */
function targetTrend(
  pids: readonly number[],
  trends: ReadonlyMap<number, ProcessTrend>,
): TargetTrend | undefined {
  const views = pids.map((pid) => trends.get(pid)).filter((v): v is ProcessTrend => v !== undefined);
  if (views.length === 0) return undefined;
  const verdict = views.some((v) => v.verdict === 'leak')
    ? 'leak'
    : views.some((v) => v.verdict === 'no-leak')
      ? 'no-leak'
      : 'insufficient';
  // The reason shown is that of the process that decided the verdict; while none has one, the
  // one closest to a verdict says what is missing.
  const deciding =
    verdict === 'insufficient'
      ? views.reduce((a, b) => ((b.neededSeconds ?? Infinity) < (a.neededSeconds ?? Infinity) ? b : a))
      : views.find((v) => v.verdict === verdict);
  const summary: TargetTrend = { verdict };
  if (deciding) summary.reason = deciding.reason;
  if (deciding?.neededSeconds !== undefined) summary.neededSeconds = deciding.neededSeconds;
  const slopes = views.map((v) => v.slopeBytesPerSecond).filter((x): x is number => x !== undefined);
  if (slopes.length > 0) summary.slopeBytesPerSecond = Math.max(...slopes);
  const times = views.map((v) => v.timeToLimitSeconds).filter((x): x is number => x !== undefined);
  if (times.length > 0) summary.timeToLimitSeconds = Math.min(...times);
  return summary;
}

/** A watcher's tick in the shape the dashboard, /metrics and `top` read. */
export function toExportTick(
  tick: Pick<Cycle, 'time' | 'system' | 'durationMs' | 'targets' | 'trends'>,
  counters: WatcherCounters,
): Tick {
  return {
    time: tick.time,
    system: tick.system,
    targets: tick.targets.map((t) => {
      const trend = targetTrend(
        t.processes.map((p) => p.pid),
        tick.trends,
      );
      const target: Tick['targets'][number] = { name: t.name, processes: t.processes };
      if (trend) target.trend = trend;
      if (t.unknown) target.unknown = true;
      if (t.cgroup) target.cgroup = t.cgroup;
      return target;
    }),
    counters: {
      procReadErrors: { denied: counters.procReadDenied, failed: counters.procReadFailed },
      cycleOverruns: counters.cycleOverruns,
      cycleErrors: counters.cycleErrors,
      configLastReloadSuccess: counters.configLastReloadSuccess === 1,
      lastCycleDurationMs: tick.durationMs,
      storageWriteErrors: counters.storageWriteErrors,
      samplesDropped: counters.samplesDropped,
      oomKills: { machine: counters.oomKills, byTarget: counters.oomKillsByTarget },
    },
  };
}
