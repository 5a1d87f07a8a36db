import type { Tick } from '../export/index.js';
import { PssBudget } from '../sample/index.js';
import type { ProcessFilter } from '../select/index.js';
import { toExportTick } from './export-tick.js';
import { OomTracker } from './oom.js';
import { TargetSampler } from './target-sampler.js';
import { initialCounters, pssBudgetMs } from './watcher.js';

export interface TickerTarget {
  name: string;
  filter: ProcessFilter;
}

export interface TickerOptions {
  /** Read every selected process's PSS: on the watcher's time budget for `intervalMs`. */
  pss?: boolean;
  /** The time between ticks (default 2 s), which sets the PSS budget as the watcher's. */
  intervalMs?: number;
  /** The budget itself, for a test that drives its clock. */
  pssBudget?: PssBudget;
}

/**
 * Ticks for `top` and `serve`: the watcher's sweep → select → sample path and its OOM count,
 * with no rules, store or actions, read on demand. PSS is read on the watcher's budget: a
 * process's smaps_rollup read stalls it, so one huge process must not be read at every refresh.
 */
export class Ticker {
  private readonly sampling = new TargetSampler();
  private readonly oom: OomTracker;
  private readonly counters = initialCounters();

  constructor(targets: readonly TickerTarget[], options: TickerOptions = {}) {
    const { reader } = this.sampling;
    this.sampling.setTargets(targets.map((t) => ({ name: t.name, match: t.filter })));
    this.sampling.pss = options.pss ?? false;
    if (this.sampling.pss)
      this.sampling.pssBudget =
        options.pssBudget ?? new PssBudget({ budgetMs: pssBudgetMs(options.intervalMs ?? 2000) });
    this.oom = new OomTracker({
      cgroupRoot: reader.cgroupRoot,
      cgroupPaths: (pid) => reader.cgroupPaths(pid),
    });
    this.counters.oomKillsByTarget = this.oom.killsByTarget;
  }

  tick(): Tick {
    const started = performance.now();
    const { system, records } = this.sampling.sweep();
    const { samples, targetsOf, rows } = this.sampling.sample(system, records);
    this.oom.observe(
      samples.map((sample) => ({ sample, targets: targetsOf(sample.pid) })),
      new Map(),
      system.time,
    );
    const { counters } = this;
    counters.cycles++;
    counters.oomKills = this.oom.machineKills;
    counters.procReadDenied = this.sampling.reader.errors.denied;
    counters.procReadFailed = this.sampling.reader.errors.failed;
    const durationMs = performance.now() - started;
    return toExportTick(
      { time: system.time, system, durationMs, targets: rows, trends: new Map() },
      counters,
    );
  }

  close(): void {
    this.sampling.close();
    this.oom.close();
  }
}
