import { EventEmitter } from 'node:events';
import {
  type ActionRunner,
  ancestorPids,
  type Candidate,
  checkChainIdentity,
  describeEscalation,
  type EscalationResult,
  type EscalationStepRecord,
  type Exclusion,
  rankVictims,
  runEscalation,
  type VictimRanking,
} from '../actions/index.js';
import { describeGuard, type GuardConfig } from '../config/index.js';
import {
  cgroupPressureFile,
  type Pressure,
  type ProcessRecord,
  type ProcReader,
  readCgroupScope,
  readMemInfo,
  readOomScoreAdj,
  readPressure,
} from '../proc/index.js';
import { type ClauseValue, conditionTruth, pressureValue } from '../rules/index.js';
import type { ProcessSample } from '../sample/index.js';
import { compileFilter, selectProcesses } from '../select/index.js';
import { formatBytes, formatPercent } from '../units/index.js';

/** The scope as measured now: what the guard's condition is tested against. */
export interface ScopeReading {
  totalBytes?: number;
  availableBytes?: number;
  usedBytes?: number;
  pressure?: Pressure;
  /** For a cgroup scope, its processes (and its descendants'). */
  pids?: ReadonlySet<number>;
}

/** A decision of the guard: the victim it picked (or none), and the ranking that led to it. */
export interface GuardDecision {
  time: number;
  kind: 'guard-decision';
  scope: string;
  condition: string;
  /** The condition's clauses as measured, e.g. `available 3.2%, psi.full 0.0%`. */
  readings: string;
  victim?: Candidate;
  /** Best victim first; at most RANKING_SHOWN of them. */
  ranking: Candidate[];
  excluded: Exclusion[];
  dryRun: boolean;
  /** What the guard does next: the chain it runs, or why it does nothing. */
  plan: string;
  message: string;
}

export interface GuardStep {
  time: number;
  kind: 'guard-step';
  pid: number;
  name: string;
  step: EscalationStepRecord;
  message: string;
}

export interface GuardEnd {
  time: number;
  kind: 'guard-end';
  pid: number;
  name: string;
  result: EscalationResult;
  message: string;
}

export interface GuardEvents {
  decision: [GuardDecision];
  step: [GuardStep];
  end: [GuardEnd];
}

export interface GuardDeps {
  reader: ProcReader;
  /** Carries the steps out (identity re-checked, protected pids refused); none for a dry run. */
  runner?: ActionRunner;
  /**
   * Hears of a decision before any step is taken, and is waited for (bounded by the caller):
   * the notifiers' chance to tell people before the guard kills anything.
   */
  announce?: (decision: GuardDecision) => Promise<void>;
  /** The watcher's current cycle, for the steps' action context. */
  cycle?: () => number;
}

/** The name the guard's steps carry as their rule, and the holder of its victim. */
const GUARD = 'guard';

const RANKING_SHOWN = 10;

function scopeName(config: GuardConfig): string {
  return config.scope.kind === 'machine' ? 'machine' : config.scope.dir;
}

/** Measures the guard's scope now: meminfo and PSI for the machine, the cgroup's own files for a cgroup. */
export function readScope(config: GuardConfig, procRoot = '/proc'): ScopeReading | undefined {
  if (config.scope.kind === 'machine') {
    const mem = readMemInfo(procRoot);
    const reading: ScopeReading = {
      totalBytes: mem.totalBytes,
      availableBytes: mem.availableBytes,
      usedBytes: mem.totalBytes - mem.availableBytes,
    };
    const pressure = readPressure(`${procRoot}/pressure/memory`);
    if (pressure) reading.pressure = pressure;
    return reading;
  }
  const cgroup = readCgroupScope(config.scope.dir);
  if (cgroup === undefined) return undefined;
  const reading: ScopeReading = { pids: new Set(cgroup.pids) };
  if (cgroup.limitBytes !== undefined) {
    reading.totalBytes = cgroup.limitBytes;
    if (cgroup.usageBytes !== undefined)
      reading.availableBytes = Math.max(0, cgroup.limitBytes - cgroup.usageBytes);
  }
  if (cgroup.usageBytes !== undefined) reading.usedBytes = cgroup.usageBytes;
  if (cgroup.pressure) reading.pressure = cgroup.pressure;
  return reading;
}

/** The value of each of the condition's clauses for a reading of the scope. */
function scopeValues(config: GuardConfig, reading: ScopeReading | undefined): ClauseValue[] {
  return config.when.clauses.map((clause) => {
    if (reading === undefined || clause.kind !== 'compare') return undefined;
    const { totalBytes, availableBytes, usedBytes } = reading;
    const share = (part: number | undefined) =>
      part === undefined || totalBytes === undefined || totalBytes <= 0
        ? undefined
        : (part / totalBytes) * 100;
    switch (clause.metric) {
      case 'available':
        return clause.unit === 'percent' ? share(availableBytes) : availableBytes;
      case 'mem%':
      case 'limit%':
        return share(usedBytes);
      default:
        return pressureValue(reading.pressure, clause.metric);
    }
  });
}

function readings(config: GuardConfig, values: readonly ClauseValue[]): string {
  return config.when.clauses
    .map((clause, i) => {
      if (clause.kind !== 'compare') return clause.text;
      const value = values[i];
      const shown =
        typeof value !== 'number'
          ? 'unknown'
          : clause.unit === 'bytes'
            ? formatBytes(value)
            : formatPercent(value);
      return `${clause.metric} ${shown}`;
    })
    .join(', ');
}

/** `crawler.py (pid 42, USS 1.2 GiB, oom_score_adj 0, preferred)` */
export function candidateText(c: Candidate): string {
  const freed =
    c.ussBytes !== undefined ? `USS ${formatBytes(c.ussBytes)}` : `RSS ${formatBytes(c.rssBytes)}`;
  return `${c.name} (pid ${c.pid}, ${freed}, oom_score_adj ${c.oomScoreAdj ?? 0}${c.preferred ? ', preferred' : ''})`;
}

/**
 * Acts before the kernel's OOM killer does. Each tick it measures its scope; when its condition
 * holds it ranks the scope's processes (rankVictims), picks one, says so (an event with the
 * ranking, announced before any step), and runs the escalation chain on it — which re-measures
 * the condition and re-checks the process's identity before every step, so it goes no further
 * than needed. Only after the chain has ended does a later tick pick the next victim. A dry run
 * decides the same way and acts on nothing; it says so once per episode of the condition.
 */
export class Guard extends EventEmitter<GuardEvents> {
  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** The last dry-run decision's victim in the current episode, so it is not repeated every tick. */
  private dryRunVictim: number | undefined | null = null;

  constructor(
    private config: GuardConfig,
    private readonly deps: GuardDeps,
  ) {
    super();
  }

  get description(): string {
    return `${describeGuard(this.config)}, then ${describeEscalation(this.config.escalate)}`;
  }

  setConfig(config: GuardConfig): void {
    this.config = config;
  }

  /** The cgroup directory the guard watches; undefined for the machine. */
  scopeDir(): string | undefined {
    return this.config.scope.kind === 'cgroup' ? this.config.scope.dir : undefined;
  }

  /** The cgroup scope's own `memory.pressure` (cgroup v2 only), where it exists now. */
  pressureFile(): string | undefined {
    const dir = this.scopeDir();
    return dir !== undefined && cgroupPressureFile(dir) ? `${dir}/memory.pressure` : undefined;
  }

  /** Today's ranking of the scope's processes, without any condition: what `check` shows. */
  rank(records: readonly ProcessRecord[], reading = readScope(this.config)): VictimRanking {
    const members = reading?.pids ? records.filter((r) => reading.pids?.has(r.pid)) : records;
    const matched = (filter: GuardConfig['prefer']) =>
      new Set(
        filter
          ? selectProcesses(members, compileFilter(filter), { explain: false }).records.map((r) => r.pid)
          : [],
      );
    return rankVictims(members, {
      preferred: matched(this.config.prefer),
      avoided: matched(this.config.avoid),
      protectedPids: ancestorPids(records),
      measure: (record) => {
        const copy = { ...record };
        if (!this.deps.reader.addSmaps(copy)) return undefined;
        const oomScoreAdj = readOomScoreAdj(record.pid, this.deps.reader.root);
        const measured: { ussBytes?: number; oomScoreAdj?: number } = {};
        if (copy.uss !== undefined) measured.ussBytes = copy.uss;
        if (oomScoreAdj !== undefined) measured.oomScoreAdj = oomScoreAdj;
        return measured;
      },
    });
  }

  /** One look at the scope, from the watcher's tick; never waits for a chain. */
  tick(records: readonly ProcessRecord[]): GuardDecision | undefined {
    if (this.running) return undefined;
    const reading = readScope(this.config, this.deps.reader.root);
    const values = scopeValues(this.config, reading);
    if (conditionTruth(this.config.when, values) !== 'true') {
      this.dryRunVictim = null;
      return undefined;
    }
    const { ranking, excluded } = this.rank(records, reading);
    const victim = ranking[0];
    if (this.config.dryRun && this.dryRunVictim === (victim?.pid ?? undefined)) return undefined;
    const decision = this.decide(values, ranking, excluded, victim);
    this.emit('decision', decision);
    if (this.config.dryRun) {
      this.dryRunVictim = victim?.pid;
      return decision;
    }
    if (victim) {
      // Held from the decision on, before this cycle's rules run: none of them acts on the
      // victim destructively until the chain has ended, so the two never double up.
      const release = this.deps.runner?.hold(victim, GUARD);
      this.running = this.act(decision, victim).finally(() => {
        release?.();
        this.running = undefined;
      });
    }
    return decision;
  }

  /** Stops a running chain between steps; resolves when it has. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private decide(
    values: readonly ClauseValue[],
    ranking: Candidate[],
    excluded: Exclusion[],
    victim: Candidate | undefined,
  ): GuardDecision {
    const chain = describeEscalation(this.config.escalate);
    const plan =
      victim === undefined
        ? 'no process may be acted on'
        : this.config.dryRun
          ? `would run ${chain} (dry run: nothing is done)`
          : `runs ${chain}`;
    const decision: GuardDecision = {
      time: Date.now(),
      kind: 'guard-decision',
      scope: scopeName(this.config),
      condition: this.config.when.source,
      readings: readings(this.config, values),
      ranking: ranking.slice(0, RANKING_SHOWN),
      excluded: excluded.slice(0, RANKING_SHOWN),
      dryRun: this.config.dryRun,
      plan,
      message: '',
    };
    if (victim) decision.victim = victim;
    const next = ranking.slice(1, 3).map(candidateText).join('; ');
    decision.message = `guard (${decision.scope}): '${decision.condition}' holds (${decision.readings}); ${
      victim ? `victim ${candidateText(victim)}` : 'no victim'
    }; ${plan}${next ? `; next in line: ${next}` : ''}`;
    return decision;
  }

  private async act(decision: GuardDecision, victim: Candidate): Promise<void> {
    const { runner, reader, announce } = this.deps;
    await announce?.(decision).catch(() => undefined);
    const sample = reader.read(victim.pid) as ProcessSample | undefined;
    const identity = { pid: victim.pid, startTicks: victim.startTicks };
    const result = await runEscalation(this.config.escalate, {
      holds: () =>
        conditionTruth(this.config.when, scopeValues(this.config, readScope(this.config, reader.root))) ===
        'true',
      identity: () => checkChainIdentity(identity, reader),
      act: async (step) => {
        if (!runner || !sample)
          return { ok: false, code: 'NOT_AVAILABLE', message: `${step.kind}: nothing can act here` };
        // The victim is held for the guard, so its steps pass the one-destructive-action-per-
        // cycle rule (a chain's steps are meant to follow each other, each re-measured first).
        const outcome = await runner.run(step, {
          target: GUARD,
          sample: { ...sample, time: Date.now() },
          rule: GUARD,
          message: decision.message,
          cycle: this.deps.cycle?.() ?? 0,
        });
        return outcome.details === undefined
          ? { ok: outcome.ok, ...(outcome.code ? { code: outcome.code } : {}), message: outcome.message }
          : {
              ok: outcome.ok,
              ...(outcome.code ? { code: outcome.code } : {}),
              message: outcome.message,
              details: outcome.details,
            };
      },
      rss: () => reader.read(victim.pid)?.rss,
      onStep: (step) =>
        this.emit('step', {
          time: step.time,
          kind: 'guard-step',
          pid: victim.pid,
          name: victim.name,
          step,
          message: `guard: ${step.text} on pid ${victim.pid} (${victim.name}): ${step.ok ? 'ok' : `failed (${step.code ?? 'error'})`}: ${step.message}`,
        }),
      signal: this.stopping.signal,
    });
    this.emit('end', {
      time: Date.now(),
      kind: 'guard-end',
      pid: victim.pid,
      name: victim.name,
      result,
      message: `guard: pid ${victim.pid} (${victim.name}): ${result.end}: ${result.message}`,
    });
  }
}
