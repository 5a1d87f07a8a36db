import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ActionResult, ActionRunner, Notifier, Supervisor } from '../actions/index.js';
import type { WatchConfig } from '../config/index.js';
import { errnoCode } from '../errors.js';
import {
  DEFAULT_PRESSURE_TRIGGER,
  identityKey,
  PressureTrigger,
  type ProcessIdentity,
  type ProcessRecord,
  ProcReader,
  threadsOnMachine,
} from '../proc/index.js';
import {
  type GroupObservation,
  type ProcessObservation,
  RuleEngine,
  type RuleEvent,
  type RuleSpec,
  ruleKey,
  ruleNeeds,
} from '../rules/index.js';
import type { ProcessSample, SystemSample } from '../sample/index.js';
import { emptyGroupTotal, groupTotals, PssBudget, Sampler } from '../sample/index.js';
import type { Store } from '../store/index.js';
import { biggestFirst, carryOut, carryOutForGroup } from './act.js';
import { type EscalationNotice, Escalations, type GroupMeasure } from './escalate.js';
import { ruleEventRow } from './event-row.js';
import { Guard, type GuardDecision, type GuardEnd, type GuardStep } from './guard.js';
import { type OomKillEvent, OomTracker } from './oom.js';
import { chainKey, groupChainKey, StoredRuleMemory } from './rule-memory.js';
import { type TargetRow, TargetSampler } from './target-sampler.js';
import { observeTrend, type ProcessTrend, type TrendSeed, TrendTracker } from './trends.js';

/** What one cycle saw and decided; every consumer (logs, store, dashboard) reads the same one. */
export interface Cycle {
  cycle: number;
  /** Wall-clock time of the sweep, ms since the epoch. */
  time: number;
  /** How long the cycle's own work took. */
  durationMs: number;
  /** What started the cycle: its slot in the interval, or a memory-pressure (PSI) trigger between slots. */
  wake: 'interval' | 'pressure';
  /** For a `pressure` wake: the pressure file whose trigger fired (the machine's, or the guard's cgroup's). */
  wokenBy?: string;
  system: SystemSample;
  targets: TargetRow[];
  events: RuleEvent[];
  /** The kernel's OOM kills learnt of in this cycle, named where memwarden watched the process. */
  oomKills: OomKillEvent[];
  /** Trend verdicts by pid, for processes whose rules ask for one. */
  trends: Map<number, ProcessTrend>;
}

/** What the watcher hands its results to, besides its `tick` event. */
export interface WatcherServices {
  store?: Store;
  runner?: ActionRunner;
  /** Targets memwarden starts itself (`run:`), by target name. */
  supervisors?: ReadonlyMap<string, Supervisor>;
  /** The `notify:` senders: fired rules, OOM kills and the guard's decisions go there. */
  notifier?: Notifier;
}

/** The longest the guard waits for its notice to go out before a destructive step. */
const ANNOUNCE_TIMEOUT_MS = 5000;

export interface WatcherCounters {
  cycles: number;
  /** Cycles skipped because the previous one ran past its slot. */
  cycleOverruns: number;
  /** Cycles lost to a failed system call (EMFILE, ENFILE…); the watcher goes on. */
  cycleErrors: number;
  /** Reads under /proc refused (EACCES/EPERM) or failed (EIO…); vanished processes are not errors. */
  procReadDenied: number;
  procReadFailed: number;
  /** 1 after a good (re)load, 0 after a reload that failed and kept the old config. */
  configLastReloadSuccess: 0 | 1;
  /** The history file's failed writes and dropped samples, as of the last cycle. */
  storageWriteErrors: number;
  samplesDropped: number;
  /** OOM kills seen on the machine (or, without the kernel log, in the watched cgroups). */
  oomKills: number;
  /** Cycles run between slots because a PSI trigger fired. */
  pressureWakeups: number;
  /** OOM kills of each target's processes. */
  oomKillsByTarget: ReadonlyMap<string, number>;
}

/** Every counter at its start: nothing counted, the config loaded. */
export function initialCounters(): WatcherCounters {
  return {
    cycles: 0,
    cycleOverruns: 0,
    cycleErrors: 0,
    procReadDenied: 0,
    procReadFailed: 0,
    configLastReloadSuccess: 1,
    storageWriteErrors: 0,
    samplesDropped: 0,
    oomKills: 0,
    pressureWakeups: 0,
    oomKillsByTarget: new Map(),
  };
}

export interface WatcherEvents {
  tick: [Cycle];
  warning: [string];
  action: [ActionResult];
  escalation: [EscalationNotice];
  /** The guard's decisions (before it acts), each step it took, and how each chain ended. */
  guard: [GuardDecision | GuardStep | GuardEnd];
}

/** How far back the history file seeds a process's trend. */
const TREND_SEED_MS = 86_400_000;

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
  readonly counters = initialCounters();
  private readonly sampling = new TargetSampler();
  private readonly reader = this.sampling.reader;
  private readonly oom: OomTracker;
  private guard: Guard | undefined;
  /** Each rule's cooldown, which is also how often its notices may repeat for one process. */
  private cooldowns = new Map<string, number>();
  private readonly sampler = this.sampling.sampler;
  private readonly engine: RuleEngine;
  private rules: readonly RuleSpec[];
  private intervalMs: number;
  private trends: TrendTracker | undefined;
  private stopping: AbortController | undefined;
  /** Aborted to end the current wait early: stop(), or the pressure trigger. */
  private wake: AbortController | undefined;
  /** The pressure file whose trigger fired during the current wait. */
  private wokenBy: string | undefined;
  /** The PSI trigger on the guard's cgroup scope, while a run has one armed. */
  private scopeTrigger: PressureTrigger | undefined;
  private running = false;
  /** Identities already warned about for partial reads: one warning each, not one per cycle. */
  private readonly warnedPartial = new Set<string>();
  /** Whether /proc hides other users' processes from this watcher (hidepid). */
  private readonly hidden = this.sampling.hidden;
  /** Escalation chains re-measure on their own reader and sampler, so the tick's CPU deltas stay whole. */
  private readonly chainReader = new ProcReader();
  private readonly chainSampler = new Sampler(this.chainReader);
  /** A group chain's PSS reads, on a budget of their own (the tick's keeps its own cycles). */
  private readonly chainPss: PssBudget;
  private readonly escalations: Escalations | undefined;
  /** The last tick's samples and trends by pid, kept only while a chain may need them. */
  private lastSamples = new Map<number, ProcessSample>();
  private lastTrends = new Map<number, ProcessTrend>();
  /** The last tick's targets: the members a group chain reads again before each step. */
  private lastRows: readonly TargetRow[] = [];
  /** Chains a previous watcher left half done: `chainKey` or `groupChainKey` → next step. */
  private resumable: Map<string, number>;
  /** Cycles failed in a row: warned about when the run begins and when it ends. */
  private failedInARow = 0;

  constructor(
    config: WatchConfig,
    private readonly services: WatcherServices = {},
    /** `trendTimeScale`: see TrendTrackerOptions.timeScale; for tests that compress a process's life. */
    private readonly options: {
      pss?: boolean;
      kernelLogPath?: string;
      /** The PSI trigger that wakes the loop between slots (default `some 500000 2000000`); false for none. */
      pressureTrigger?: string | false;
      /** The trigger on a cgroup v2 guard scope's `memory.pressure`; default as `pressureTrigger`. */
      scopePressureTrigger?: string | false;
      trendTimeScale?: number;
    } = {},
  ) {
    super();
    this.oom = new OomTracker({
      ...(options.kernelLogPath === undefined ? {} : { kernelLogPath: options.kernelLogPath }),
      cgroupRoot: this.reader.cgroupRoot,
      cgroupPaths: (pid) => this.reader.cgroupPaths(pid),
    });
    this.counters.oomKillsByTarget = this.oom.killsByTarget;
    this.cooldowns = new Map(config.rules.map((r) => [r.id, r.cooldownMs]));
    this.setGuard(config);
    this.sampling.setTargets(config.targets);
    this.rules = config.rules;
    this.intervalMs = config.intervalMs;
    const needs = ruleNeeds(config.rules);
    this.trends = needs.trends ? this.trendTracker() : undefined;
    this.sampling.pss = options.pss ?? false;
    this.sampling.pssTargets = needs.pssTargets;
    this.sampling.pssBudget = new PssBudget({ budgetMs: pssBudgetMs(config.intervalMs) });
    this.chainPss = new PssBudget({ budgetMs: pssBudgetMs(config.intervalMs) });
    const store = services.store;
    const groupRuleKeys = new Set(config.rules.filter((r) => r.when.scope === 'group').map(ruleKey));
    const memory = store
      ? new StoredRuleMemory(
          store,
          (id) => this.reader.identity(id.pid)?.startTicks === id.startTicks,
          groupRuleKeys,
        )
      : undefined;
    this.resumable = memory?.unfinishedChains() ?? new Map();
    const runner = services.runner;
    this.escalations = runner
      ? new Escalations({
          runner,
          ...(store ? { store } : {}),
          reader: this.chainReader,
          holds: (ruleId, identity, target) => this.holdsNow(ruleId, identity, target),
          measureGroup: (ruleId, target) => this.measureGroup(ruleId, target),
          cycle: () => this.counters.cycles,
          onAction: (result) => this.emit('action', result),
          onNotice: (notice) => this.emit('escalation', notice),
        })
      : undefined;
    this.engine = new RuleEngine(config.rules, {
      clock: monotonicMs,
      intervalMs: config.intervalMs,
      ...(memory ? { memory } : {}),
    });
  }

  /** Swaps in a new config; rule state of unchanged rules is kept by the engine. */
  applyConfig(config: WatchConfig): void {
    this.sampling.setTargets(config.targets);
    this.rules = config.rules;
    this.intervalMs = config.intervalMs;
    if (this.sampling.pssBudget) this.sampling.pssBudget.budgetMs = pssBudgetMs(config.intervalMs);
    this.chainPss.budgetMs = pssBudgetMs(config.intervalMs);
    const needs = ruleNeeds(config.rules);
    if (!needs.trends) this.trends = undefined;
    else this.trends ??= this.trendTracker();
    this.sampling.pssTargets = needs.pssTargets;
    this.engine.setRules(config.rules);
    this.cooldowns = new Map(config.rules.map((r) => [r.id, r.cooldownMs]));
    this.setGuard(config);
  }

  /** The guard, as the config has it: its events logged and stored as they come. */
  private setGuard(config: WatchConfig): void {
    if (config.guard === undefined) {
      this.guard = undefined;
      return;
    }
    if (this.guard) {
      const before = this.guard.pressureFile();
      this.guard.setConfig(config.guard);
      if (this.running && this.guard.pressureFile() !== before) void this.armScopeTrigger();
      return;
    }
    const notifier = this.services.notifier;
    const guard = new Guard(config.guard, {
      reader: this.reader,
      cycle: () => this.counters.cycles,
      ...(this.services.runner ? { runner: this.services.runner } : {}),
      ...(notifier
        ? {
            // Told before the guard acts, but never waited for past a bound: memory is running out.
            announce: async (d: GuardDecision) => {
              const sent = notifier.notify(
                {
                  rule: 'guard',
                  target: 'guard',
                  ...(d.victim
                    ? { pid: d.victim.pid, startTicks: d.victim.startTicks, name: d.victim.name }
                    : {}),
                  ...(d.victim?.rssBytes === undefined ? {} : { rssBytes: d.victim.rssBytes }),
                  doing: d.plan,
                  message: d.message,
                  urgent: true,
                },
                0,
              );
              await Promise.race([sent, sleep(ANNOUNCE_TIMEOUT_MS)]);
            },
          }
        : {}),
    });
    const record = (e: GuardDecision | GuardStep | GuardEnd) => {
      const pid = e.kind === 'guard-decision' ? e.victim?.pid : e.pid;
      this.services.store?.appendEvent({
        time: e.time,
        kind: e.kind,
        target: 'guard',
        ...(pid === undefined ? {} : { pid }),
        message: e.message,
        details: e,
      });
      this.emit('guard', e);
    };
    guard.on('decision', record);
    guard.on('step', record);
    guard.on('end', record);
    this.guard = guard;
  }

  /** What the guard is set to do, for the start of a run; undefined without a guard. */
  get guardDescription(): string | undefined {
    return this.guard?.description;
  }

  /** One cycle, synchronously: sweep, select, sample, evaluate. */
  tick(wake: Cycle['wake'] = 'interval', wokenBy?: string): Cycle {
    if (wake === 'pressure') this.counters.pressureWakeups++;
    const started = monotonicMs();
    const { system, records } = this.sampling.sweep();
    this.guard?.tick(records);
    const { samples, targetsOf, rows } = this.sampling.sample(
      system,
      records,
      (target) => this.services.supervisors?.get(target)?.pid,
    );
    this.warnAboutPartialReads(samples);
    const trendViews = new Map<number, ProcessTrend>();
    this.trends?.record(samples, system.time);
    // Without rules there is nothing to observe: the engine only forgets what it knew.
    const observed = this.engine.hasRules ? samples : [];
    const observations: ProcessObservation[] = observed.map((sample) => {
      const observation: ProcessObservation = { sample, targets: targetsOf(sample.pid) };
      const trend = this.trends?.view(sample, system);
      if (trend) {
        trendViews.set(sample.pid, trend);
        observeTrend(observation, trend);
      }
      return observation;
    });
    const oomKills = this.oom.observe(
      samples.map((sample) => ({ sample, targets: targetsOf(sample.pid) })),
      trendViews,
      system.time,
    );
    this.counters.oomKills = this.oom.machineKills;
    // A killed process is observed once more, first, for its `oom_killed` rules.
    const killed: ProcessObservation[] = [];
    for (const kill of oomKills)
      if (kill.sample && kill.targets.length > 0)
        killed.push({ sample: kill.sample, targets: kill.targets, oomKilled: true });
    const groups = this.groupObservations(rows);
    const events = this.engine.tick({
      system,
      processes: killed.length > 0 ? [...killed, ...observations] : observations,
      groups,
    });
    this.counters.cycles++;
    this.counters.procReadDenied = this.reader.errors.denied;
    this.counters.procReadFailed = this.reader.errors.failed;
    const tick: Cycle = {
      cycle: this.counters.cycles,
      time: system.time,
      durationMs: monotonicMs() - started,
      wake,
      ...(wokenBy === undefined ? {} : { wokenBy }),
      system,
      targets: rows,
      events,
      oomKills,
      trends: trendViews,
    };
    this.hand(tick, killed.length > 0 ? [...samples, ...killed.map((k) => k.sample)] : samples, groups);
    const storage = this.services.store?.stats();
    if (storage) {
      this.counters.storageWriteErrors = storage.writeErrors;
      this.counters.samplesDropped = storage.samplesDropped;
    }
    this.lastRows = rows;
    this.resume(samples, rows);
    if (this.escalations !== undefined && this.escalations.size > 0) {
      this.lastSamples = new Map(samples.map((s) => [s.pid, s]));
      this.lastTrends = trendViews;
    } else if (this.lastSamples.size > 0) {
      this.lastSamples = new Map();
      this.lastTrends = new Map();
    }
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
    const fallback = this.oom.fallbackReason;
    if (fallback !== undefined) this.emit('warning', fallback);
    this.running = true;
    const trigger = await this.armPressureTrigger();
    await this.armScopeTrigger();
    try {
      // CPU % needs two reads: a first, silent one lets the first logged cycle have it too.
      this.sampler.system();
      const primed = this.reader.sweep({ forks: this.sampler.forks });
      this.sampler.processes(primed, 0, false);
      if (this.hidden.restricted) this.warnHidden(primed);
      await sleep(Math.min(PRIMING_MS, this.intervalMs), undefined, { signal: stopping.signal }).catch(
        () => undefined,
      );
      let slot = monotonicMs();
      let woken = false;
      while (!stopping.signal.aborted) {
        this.scheduledTick(woken ? 'pressure' : 'interval', woken ? this.wokenBy : undefined);
        if (count !== undefined && this.counters.cycles >= count) break;
        const now = monotonicMs();
        // A cycle woken by pressure comes between slots: the next slot stays where it was.
        if (!woken) {
          slot += this.intervalMs;
          if (now > slot) {
            const missed = Math.ceil((now - slot) / this.intervalMs);
            this.counters.cycleOverruns += missed;
            slot += missed * this.intervalMs;
          }
        }
        const wake = new AbortController();
        this.wake = wake;
        this.wokenBy = undefined;
        if (!stopping.signal.aborted)
          await sleep(Math.max(0, slot - now), undefined, { signal: wake.signal }).catch(() => undefined);
        this.wake = undefined;
        woken = wake.signal.aborted && !stopping.signal.aborted;
      }
    } finally {
      this.running = false;
      trigger?.close();
      this.scopeTrigger?.close();
      this.scopeTrigger = undefined;
      await this.guard?.stop();
      this.close();
    }
  }

  /** Arms the PSI trigger if the kernel lets us, and says at start which way pressure is seen. */
  private async armPressureTrigger(): Promise<PressureTrigger | undefined> {
    const setting = this.options.pressureTrigger;
    if (setting === false) return undefined;
    return this.armTrigger(
      `${this.reader.root}/pressure/memory`,
      setting ?? DEFAULT_PRESSURE_TRIGGER,
      'memory pressure',
    );
  }

  /**
   * A guard scoped to a cgroup v2 group is woken by that group's own pressure: a container can
   * stall on its limit while the machine is at ease, which the machine's trigger never sees. A
   * v1 cgroup keeps no pressure file; its scope is then measured once a cycle, and said so.
   */
  private async armScopeTrigger(): Promise<void> {
    this.scopeTrigger?.close();
    this.scopeTrigger = undefined;
    const guard = this.guard;
    const setting = this.options.scopePressureTrigger ?? this.options.pressureTrigger;
    if (guard === undefined || setting === false) return;
    const scope = guard.scopeDir();
    if (scope === undefined) return;
    const file = guard.pressureFile();
    if (file === undefined) {
      this.emit(
        'warning',
        `guard scope ${scope}: measured once a cycle (it keeps no memory.pressure: cgroup v1, or a kernel without PSI)`,
      );
      return;
    }
    const trigger = await this.armTrigger(file, setting ?? DEFAULT_PRESSURE_TRIGGER, `guard scope ${scope}`);
    // Re-armed for another scope (a reload) while this one was being armed: keep only the latest.
    if (!this.running || guard.pressureFile() !== file) trigger?.close();
    else this.scopeTrigger = trigger;
  }

  private async armTrigger(
    path: string,
    setting: string,
    what: string,
  ): Promise<PressureTrigger | undefined> {
    const trigger = new PressureTrigger(path, setting);
    const armed = await trigger.arm();
    if (!armed.armed) {
      this.emit('warning', `${what}: read once a cycle (no PSI trigger on ${path}: ${armed.reason})`);
      return undefined;
    }
    this.emit(
      'warning',
      `${what}: a PSI trigger ('${trigger.trigger}' on ${path}) wakes the watcher between cycles`,
    );
    trigger.on('pressure', () => {
      if (!this.wake || this.wake.signal.aborted) return;
      this.wokenBy = path;
      this.wake.abort();
    });
    return trigger;
  }

  /** Stops the loop and every escalation chain between its steps (their progress stays saved). */
  stop(): void {
    this.escalations?.stopAll();
    this.stopping?.abort();
    this.wake?.abort();
  }

  /**
   * A cycle of the loop. One whose system calls fail (too many open files, when clients hold
   * the descriptors) is lost, counted and warned about once per run of failures; the loop
   * goes on and recovers when the descriptors come back. Any other error is a bug and stops it.
   */
  private scheduledTick(wake: Cycle['wake'], wokenBy?: string): void {
    try {
      this.tick(wake, wokenBy);
    } catch (err) {
      const code = systemErrorCode(err);
      if (code === undefined) throw err;
      this.counters.cycleErrors++;
      if (this.failedInARow++ === 0)
        this.emit(
          'warning',
          `cycle ${this.counters.cycles + 1} failed (${code}): ${err instanceof Error ? err.message : String(err)}; retrying every interval`,
        );
      return;
    }
    if (this.failedInARow > 0) {
      this.emit('warning', `cycles work again after ${this.failedInARow} failed`);
      this.failedInARow = 0;
    }
  }

  /** Closes the files kept open between ticks, for a watcher driven by `tick()` alone. */
  close(): void {
    this.escalations?.stopAll();
    this.sampling.close();
    this.chainReader.close();
    this.oom.close();
  }

  /**
   * A rule's condition for one process measured now, for an escalation chain: a fresh read of the
   * process (and the machine), the last tick's CPU % and trend verdict where a fresh read has none.
   */
  private holdsNow(ruleId: string, identity: ProcessIdentity, target: string): boolean | undefined {
    const record = this.chainReader.read(identity.pid);
    if (record === undefined || record.startTicks !== identity.startTicks) return undefined;
    const system = this.chainSampler.system();
    const [sample] = this.chainSampler.processes([record], system.memTotal);
    if (sample === undefined) return undefined;
    const last = this.lastSamples.get(identity.pid);
    if (
      sample.cpuPercent === undefined &&
      last?.startTicks === identity.startTicks &&
      last.cpuPercent !== undefined
    ) {
      sample.cpuPercent = last.cpuPercent;
    }
    const observation: ProcessObservation = { sample, targets: [target] };
    const trend = this.lastTrends.get(identity.pid);
    if (trend && trend.verdict !== 'insufficient') observation.leak = trend.verdict === 'leak';
    if (trend?.timeToLimitSeconds !== undefined) observation.oomInSeconds = trend.timeToLimitSeconds;
    return this.engine.conditionHolds(ruleId, observation, system);
  }

  private trendTracker(): TrendTracker {
    const seed = this.trendSeed();
    return new TrendTracker({
      ...(seed ? { seed } : {}),
      ...(this.options.trendTimeScale ? { timeScale: this.options.trendTimeScale } : {}),
    });
  }

  /** A process's RSS from the history file, the last day of it, for a trend not to start from nothing. */
  private trendSeed(): TrendSeed | undefined {
    const store = this.services.store;
    if (!store) return undefined;
    return (pid, startTicks) => {
      const points = store
        .history({ pid, sinceMs: Date.now() - TREND_SEED_MS, maxPoints: 2048 })
        .filter((p) => p.startTicks === startTicks && p.rss !== undefined);
      if (points.length === 0) return undefined;
      return { timeSeconds: points.map((p) => p.time / 1000), bytes: points.map((p) => p.rss as number) };
    };
  }

  /** How much per-process state is held: all of it must shrink back when processes go away. */
  stateSizes(): { keptFds: number; ruleIdentities: number; trendSeries: number; partialWarnings: number } {
    return {
      keptFds: this.reader.keptProcesses,
      ruleIdentities: this.engine.stats().identities,
      trendSeries: this.trends?.size ?? 0,
      partialWarnings: this.warnedPartial.size,
    };
  }

  /**
   * Each target with group rules taken as one: its processes' sums (PSS where it is read), and
   * for a target named by cgroup, unit or container, that cgroup's own memory and pressure (the
   * sampler has set it on the row: `/metrics` shows it with group rules or without).
   */
  private groupObservations(rows: readonly TargetRow[]): GroupObservation[] {
    const wanted = this.engine.groupTargets;
    const out: GroupObservation[] = [];
    for (const row of rows) {
      if (!wanted.has(row.name) && row.cgroup === undefined) continue;
      out.push(this.groupObservation(row));
    }
    return out;
  }

  /** One target as a group, with the cgroup its row carries. */
  private groupObservation(row: TargetRow): GroupObservation {
    const processes = row.processes;
    const withPss = this.sampling.pss || this.sampling.pssTargets.has(row.name);
    const [total] = groupTotals(processes, () => [row.name], withPss);
    const observation: GroupObservation = {
      target: row.name,
      members: processes,
      // A target with no process this tick is a group of 0, whose rules still run (`count < 1`).
      total: total ?? emptyGroupTotal(row.name, withPss),
    };
    if (row.cgroup) observation.cgroup = row.cgroup;
    return observation;
  }

  /**
   * A target measured afresh for its group rule's chain: the members the last cycle found, each
   * read again (one started since joins at the next cycle), their PSS on the chain's own budget
   * (a member it puts off keeps the cycle's value), and the target's cgroup. Undefined before
   * the first cycle, or for a name that is not a target.
   */
  measureGroup(ruleId: string, target: string): GroupMeasure | undefined {
    const row = this.lastRows.find((r) => r.name === target);
    if (row === undefined) return undefined;
    const byPid = new Map(row.processes.map((p) => [p.pid, p]));
    let records: ProcessRecord[] = [];
    for (const member of row.processes) {
      const record = this.chainReader.read(member.pid);
      if (record?.startTicks === member.startTicks) records.push(record);
    }
    if (this.sampling.pss || this.sampling.pssTargets.has(target)) {
      const gone = this.chainPss.fill(this.chainReader, records);
      if (gone.size > 0) records = records.filter((r) => !gone.has(r));
      for (const record of records) {
        const last = byPid.get(record.pid);
        if (record.pss !== undefined || last?.pss === undefined) continue;
        record.pss = last.pss;
        if (last.uss !== undefined) record.uss = last.uss;
        if (last.swap !== undefined) record.swap = last.swap;
      }
    }
    const system = this.chainSampler.system();
    const samples = this.chainSampler.processes(records, system.memTotal);
    const fresh: TargetRow = { name: target, processes: samples };
    const cgroup = this.sampling.ownCgroup(target, samples, this.chainReader);
    if (cgroup) fresh.cgroup = cgroup;
    const observation = this.groupObservation(fresh);
    return {
      holds: this.engine.groupConditionHolds(ruleId, observation, system),
      members: biggestFirst(samples),
    };
  }

  /** The tick to the store, and each fired event's actions to the runner (not waited for). */
  private hand(tick: Cycle, samples: readonly ProcessSample[], groups: readonly GroupObservation[]): void {
    const { store, runner } = this.services;
    store?.append({
      time: tick.time,
      system: tick.system,
      processes: tick.targets.flatMap((t) => t.processes.map((sample) => ({ target: t.name, sample }))),
    });
    const { notifier } = this.services;
    for (const kill of tick.oomKills) {
      const { sample: _sample, message, time, pid, startTicks, targets, ...details } = kill;
      if (targets.length > 0)
        void notifier?.notify(
          {
            rule: 'oom-killed',
            target: targets.join(', '),
            pid,
            ...(startTicks === undefined ? {} : { startTicks }),
            name: kill.name,
            ...(kill.lastRssBytes === undefined ? {} : { rssBytes: kill.lastRssBytes }),
            ...(kill.slopeBytesPerSecond === undefined
              ? {}
              : { slopeBytesPerSecond: kill.slopeBytesPerSecond }),
            ...(kill.timeToLimitSeconds === undefined ? {} : { timeToOomSeconds: kill.timeToLimitSeconds }),
            doing: "nothing more: the kernel's OOM killer already killed it",
            message,
            urgent: true,
          },
          0,
        );
      store?.appendEvent({
        time,
        kind: 'oom-killed',
        ...(targets[0] === undefined ? {} : { target: targets[0] }),
        pid,
        ...(startTicks === undefined ? {} : { startTicks }),
        message,
        details: { targets, ...details },
      });
    }
    // A killed process's last read stands for it in the actions of its `oom_killed` rules.
    const byPid = tick.events.length > 0 ? new Map(samples.map((s) => [s.pid, s])) : undefined;
    for (const event of tick.events) {
      store?.appendEvent({
        time: tick.time,
        ...ruleEventRow(event),
        ...(event.identity ? { startTicks: event.identity.startTicks } : {}),
        details: {
          value: event.value,
          threshold: event.threshold,
          actions: event.actions.map((a) => a.kind),
          ...(event.group ? { group: event.group } : {}),
        },
      });
      if (event.identity === undefined) {
        this.handGroupEvent(event, tick, groups);
        continue;
      }
      const sample = byPid?.get(event.identity.pid);
      if (event.kind === 'fired' && notifier) {
        const trend = tick.trends.get(event.identity.pid);
        const acting = event.actions.filter((a) => a.kind !== 'log').map((a) => a.kind);
        void notifier.notify(
          {
            rule: event.ruleId,
            target: event.target,
            pid: event.identity.pid,
            startTicks: event.identity.startTicks,
            name: event.name,
            ...(sample?.rss === undefined ? {} : { rssBytes: sample.rss }),
            ...(trend?.slopeBytesPerSecond === undefined
              ? {}
              : { slopeBytesPerSecond: trend.slopeBytesPerSecond }),
            ...(trend?.timeToLimitSeconds === undefined
              ? {}
              : { timeToOomSeconds: trend.timeToLimitSeconds }),
            doing: acting.length > 0 ? `about to ${acting.join(', then ')}` : 'logged it',
            message: event.message,
          },
          this.cooldowns.get(event.ruleId) ?? 0,
        );
      }
      if (event.kind !== 'fired' || !runner || !sample) continue;
      const rule = event.escalate ? this.ruleById(event.ruleId) : undefined;
      void carryOut(runner, event, sample, tick.cycle, this.recordAction).then(() => {
        // The chain after the rule's own actions, for the same firing.
        if (rule) void this.escalations?.start(event, sample, ruleKey(rule));
      });
    }
  }

  /** A group rule's event: told once for the target, its actions carried out on its members. */
  private handGroupEvent(event: RuleEvent, tick: Cycle, groups: readonly GroupObservation[]): void {
    const { runner, notifier } = this.services;
    if (event.kind !== 'fired') return;
    const acting = event.actions.filter((a) => a.kind !== 'log').map((a) => a.kind);
    void notifier?.notify(
      {
        rule: event.ruleId,
        target: event.target,
        doing: acting.length > 0 ? `about to ${acting.join(', then ')}` : 'logged it',
        message: event.message,
      },
      this.cooldowns.get(event.ruleId) ?? 0,
    );
    const members = biggestFirst(groups.find((g) => g.target === event.target)?.members ?? []);
    if (!runner || members.length === 0) return;
    const rule = event.escalate ? this.ruleById(event.ruleId) : undefined;
    void carryOutForGroup(runner, event, members, tick.cycle, this.recordAction).then(() => {
      // The chain after the rule's own actions, for the same firing.
      if (rule) void this.escalations?.startGroup(event, members, ruleKey(rule));
    });
  }

  /** An action's result, to the history file and the listeners. */
  private readonly recordAction = (result: ActionResult): void => {
    this.services.store?.appendEvent({
      time: result.time,
      kind: 'action',
      target: result.target,
      pid: result.pid,
      startTicks: result.startTicks,
      rule: result.rule,
      message: `${result.action}: ${result.message}`,
      details: { ok: result.ok, code: result.code, durationMs: result.durationMs, ...result.details },
    });
    this.emit('action', result);
  };

  /** Once at start: how much of the machine hidepid keeps from this watcher. */
  private warnHidden(visible: readonly ProcessRecord[]): void {
    const total = threadsOnMachine();
    let seen = 0;
    for (const r of visible) seen += r.threads;
    const count = total === undefined ? 'an unknown number of' : `about ${Math.max(0, total - seen)}`;
    const group = this.hidden.gid === undefined ? '' : ` or in group ${this.hidden.gid}`;
    this.emit(
      'warning',
      `/proc is mounted with hidepid=${this.hidden.hidepid}: processes of other users are hidden from this watcher (${count} threads unseen); targets that match nothing show as unknown, not 0. Run as root${group} to see them`,
    );
  }

  private ruleById(id: string): RuleSpec | undefined {
    return this.rules.find((r) => r.id === id);
  }

  /**
   * Takes up, on the first tick that sees their processes, the chains a previous watcher left
   * half done for a firing that is still on: from the next step, never from the top.
   */
  private resume(samples: readonly ProcessSample[], rows: readonly TargetRow[]): void {
    if (this.resumable.size === 0 || this.escalations === undefined) return;
    const pending = this.resumable;
    this.resumable = new Map();
    for (const rule of this.rules) {
      if (rule.escalate === undefined) continue;
      const key = ruleKey(rule);
      if (rule.when.scope === 'group') {
        const nextStep = pending.get(groupChainKey(key, rule.target));
        const row = rows.find((r) => r.name === rule.target);
        if (nextStep === undefined || row === undefined) continue;
        void this.escalations.startGroup(
          {
            kind: 'fired',
            ruleId: rule.id,
            target: rule.target,
            name: rule.target,
            metric: 'count',
            value: undefined,
            threshold: 0,
            message: `${rule.id} '${rule.when.source}' on target ${rule.target}: escalation resumed`,
            actions: [],
            escalate: rule.escalate,
            suppressed: [],
            repeat: true,
          },
          biggestFirst(row.processes),
          key,
          nextStep,
        );
        continue;
      }
      for (const sample of samples) {
        const nextStep = pending.get(chainKey(key, sample));
        if (nextStep === undefined) continue;
        const identity = { pid: sample.pid, startTicks: sample.startTicks };
        const event: RuleEvent = {
          kind: 'fired',
          ruleId: rule.id,
          target: rule.target,
          identity,
          name: sample.name,
          metric: 'rss',
          value: undefined,
          threshold: 0,
          message: `${rule.id} '${rule.when.source}' on pid ${sample.pid} (${sample.name}): escalation resumed`,
          actions: [],
          escalate: rule.escalate,
          suppressed: [],
          repeat: true,
        };
        void this.escalations.start(event, sample, key, nextStep);
      }
    }
  }

  private warnAboutPartialReads(samples: readonly ProcessSample[]): void {
    const live = new Set<string>();
    for (const s of samples) {
      if (!s.partial) continue;
      const key = identityKey(s);
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

/** The errno name of a failed system call (`EMFILE`), or undefined for any other error. */
function systemErrorCode(err: unknown): string | undefined {
  const code = errnoCode(err);
  return code !== undefined && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** 5 % of the interval for smaps_rollup reads, within 10–250 ms: 50 ms a cycle at 1 s. */
export function pssBudgetMs(intervalMs: number): number {
  return Math.min(250, Math.max(10, intervalMs * 0.05));
}
