import type { Tick } from '../export/index.js';
import { ProcReader } from '../proc/index.js';
import { Sampler } from '../sample/index.js';
import { type CompiledFilter, compileFilter, type ProcessFilter, selectProcesses } from '../select/index.js';

export interface TargetSpec {
  name: string;
  filter: ProcessFilter;
}

/**
 * Makes ticks for `top` and `serve` on their own: one sweep of /proc per tick, each target's
 * selection sampled. The watch daemon makes richer ticks (trend, rules); both have one shape.
 */
export class TickSampler {
  private readonly reader = new ProcReader();
  private readonly sampler = new Sampler(this.reader);
  private readonly targets: { name: string; filter: CompiledFilter }[];

  constructor(
    targets: readonly TargetSpec[],
    private readonly options: { smaps?: boolean } = {},
  ) {
    this.targets = targets.map((t) => ({ name: t.name, filter: compileFilter(t.filter) }));
  }

  tick(): Tick {
    const started = performance.now();
    const records = this.reader.sweep({ smaps: this.options.smaps ?? false });
    const system = this.sampler.system();
    const picked = this.targets.map((t) => ({
      name: t.name,
      records: selectProcesses(records, t.filter).records,
    }));
    // One Sampler call over every target's records: it keeps CPU state only for pids read this round.
    const unique = new Map(picked.flatMap((p) => p.records.map((r) => [r.pid, r] as const)));
    const samples = this.sampler.processes([...unique.values()], system.memTotal);
    const byPid = new Map(samples.map((s) => [s.pid, s]));
    return {
      time: system.time,
      system,
      targets: picked.map((p) => ({
        name: p.name,
        processes: p.records.flatMap((r) => byPid.get(r.pid) ?? []),
      })),
      counters: {
        procReadErrors: { ...this.reader.errors },
        cycleOverruns: 0,
        configLastReloadSuccess: true,
        lastCycleDurationMs: performance.now() - started,
      },
    };
  }

  close(): void {
    this.reader.close();
  }
}
