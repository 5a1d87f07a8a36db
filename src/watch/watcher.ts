import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ProcessRecord, ProcReader } from '../proc/index.js';
import { type ProcessObservation, RuleEngine, type RuleEvent } from '../rules/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { Sampler } from '../sample/index.js';
import { type CompiledFilter, compileFilter, selectProcesses } from '../select/index.js';
import type { WatchConfig } from './config.js';

/** What one cycle saw and decided; every consumer (logs, store, dashboard) reads the same one. */
export interface Tick {
  cycle: number;
  /** Wall-clock time of the sweep, ms since the epoch. */
  time: number;
  /** How long the cycle's own work took. */
  durationMs: number;
  system: SystemSample;
  targets: { name: string; processes: ProcessSample[] }[];
  events: RuleEvent[];
}

export interface WatcherCounters {
  cycles: number;
  /** Cycles skipped because the previous one ran past its slot. */
  cycleOverruns: number;
  /** Reads under /proc refused (EACCES/EPERM) or failed (EIO…); vanished processes are not errors. */
  procReadDenied: number;
  procReadFailed: number;
  /** 1 after a good (re)load, 0 after a reload that failed and kept the old config. */
  configLastReloadSuccess: 0 | 1;
}

interface Target {
  name: string;
  filter: CompiledFilter;
}

export interface WatcherEvents {
  tick: [Tick];
  warning: [string];
}

/** The pause between the priming read and the first cycle. */
const PRIMING_MS = 250;

function monotonicMs(): number {
  return performance.now();
}

/**
 * The daemon's loop: every interval one sweep of /proc, each target's selection, one sample per
 * process, the rule engine; the result goes out as a `tick` event. A cycle that runs past its
 * slot makes the next slots be skipped (and counted), never piled up.
 */
export class Watcher extends EventEmitter<WatcherEvents> {
  readonly counters: WatcherCounters = {
    cycles: 0,
    cycleOverruns: 0,
    procReadDenied: 0,
    procReadFailed: 0,
    configLastReloadSuccess: 1,
  };
  private readonly reader = new ProcReader();
  private readonly sampler = new Sampler(this.reader);
  private readonly engine: RuleEngine;
  private targets: Target[];
  private intervalMs: number;
  private stopping: AbortController | undefined;
  /** Identities already warned about for partial reads: one warning each, not one per cycle. */
  private readonly warnedPartial = new Set<string>();

  constructor(config: WatchConfig) {
    super();
    this.targets = compileTargets(config);
    this.intervalMs = config.intervalMs;
    this.engine = new RuleEngine(config.rules, { clock: monotonicMs, intervalMs: config.intervalMs });
  }

  /** Swaps in a new config; rule state of unchanged rules is kept by the engine. */
  applyConfig(config: WatchConfig): void {
    this.targets = compileTargets(config);
    this.intervalMs = config.intervalMs;
    this.engine.setRules(config.rules);
  }

  /** One cycle, synchronously: sweep, select, sample, evaluate. */
  tick(): Tick {
    const started = monotonicMs();
    const records = this.reader.sweep();
    const system = this.sampler.system();
    const memberOf = new Map<number, string[]>();
    const chosen = new Map<number, ProcessRecord>();
    const perTarget = this.targets.map((target) => {
      const selection = selectProcesses(records, target.filter);
      for (const record of selection.records) {
        chosen.set(record.pid, record);
        const names = memberOf.get(record.pid);
        if (names) names.push(target.name);
        else memberOf.set(record.pid, [target.name]);
      }
      return { name: target.name, pids: selection.records.map((r) => r.pid) };
    });
    const samples = this.sampler.processes([...chosen.values()], system.memTotal);
    const byPid = new Map(samples.map((s) => [s.pid, s]));
    this.warnAboutPartialReads(samples);
    const observations: ProcessObservation[] = samples.map((sample) => ({
      sample,
      targets: memberOf.get(sample.pid) ?? [],
    }));
    const events = this.engine.tick({ system, processes: observations });
    this.counters.cycles++;
    this.counters.procReadDenied = this.reader.errors.denied;
    this.counters.procReadFailed = this.reader.errors.failed;
    const tick: Tick = {
      cycle: this.counters.cycles,
      time: system.time,
      durationMs: monotonicMs() - started,
      system,
      targets: perTarget.map((t) => ({
        name: t.name,
        processes: t.pids.map((pid) => byPid.get(pid)).filter((s): s is ProcessSample => s !== undefined),
      })),
      events,
    };
    this.emit('tick', tick);
    return tick;
  }

  /**
   * Ticks every interval until `stop()` or until `count` cycles have run. The schedule is kept
   * on the monotonic clock: a slow cycle makes the slots it overran be skipped and counted.
   */
  async run(count?: number): Promise<void> {
    const stopping = new AbortController();
    this.stopping = stopping;
    try {
      // CPU % needs two reads: a first, silent one lets the first logged cycle have it too.
      this.sampler.processes(this.reader.sweep(), 0, false);
      this.sampler.system();
      await sleep(Math.min(PRIMING_MS, this.intervalMs), undefined, { signal: stopping.signal }).catch(
        () => undefined,
      );
      let slot = monotonicMs();
      while (!stopping.signal.aborted) {
        this.tick();
        if (count !== undefined && this.counters.cycles >= count) break;
        slot += this.intervalMs;
        const now = monotonicMs();
        if (now > slot) {
          const missed = Math.ceil((now - slot) / this.intervalMs);
          this.counters.cycleOverruns += missed;
          slot += missed * this.intervalMs;
        }
        await sleep(slot - now, undefined, { signal: stopping.signal }).catch(() => undefined);
      }
    } finally {
      this.reader.close();
    }
  }

  stop(): void {
    this.stopping?.abort();
  }

  private warnAboutPartialReads(samples: readonly ProcessSample[]): void {
    const live = new Set<string>();
    for (const s of samples) {
      if (!s.partial) continue;
      const key = `${s.pid}:${s.startTicks}`;
      live.add(key);
      if (this.warnedPartial.has(key)) continue;
      this.warnedPartial.add(key);
      this.emit(
        'warning',
        `pid ${s.pid} (${s.name}): cannot read ${s.partial.join(', ')}; those values are left out`,
      );
    }
    for (const key of this.warnedPartial) if (!live.has(key)) this.warnedPartial.delete(key);
  }
}

function compileTargets(config: WatchConfig): Target[] {
  return config.targets.map((t) => ({ name: t.name, filter: compileFilter(t.match) }));
}
