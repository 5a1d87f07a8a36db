import { createHash } from 'node:crypto';
import type { Pressure, ProcessIdentity } from '../proc/index.js';
import type { GroupTotal, ProcessSample, SystemSample } from '../sample/index.js';
import { formatBytes, formatDuration, formatPercent } from '../units/index.js';
import { type Arbitrated, arbitrate } from './arbitration.js';
import { type Clause, type CompareClause, DEFAULT_GROWTH_WINDOW_MS } from './condition.js';
import type { GroupEventInfo, RuleEvent } from './events.js';
import { GrowthHistory } from './growth.js';
import { ruleNeeds } from './needs.js';
import type { RuleSpec } from './rule.js';
import { conditionTruth } from './truth.js';

/** One process as the engine sees it in a tick. */
export interface ProcessObservation {
  sample: ProcessSample;
  /** Names of the targets the process belongs to; only those targets' rules apply to it. */
  targets: readonly string[];
  /** From the trend detector; undefined while it has no verdict. */
  leak?: boolean;
  /** From the trend detector: time until the process reaches its limit at the current trend. */
  oomInSeconds?: number;
  /**
   * The kernel's OOM killer killed it: `sample` is the last read of it, and only rules with an
   * `oom_killed` clause are evaluated (its other values are from before the kill).
   */
  oomKilled?: boolean;
}

/** A target's own cgroup (a target named by cgroup, unit or container), read once a tick. */
export interface GroupCgroup {
  path: string;
  currentBytes?: number;
  limitBytes?: number;
  /** cgroup v2 `memory.pressure`; absent on v1. */
  pressure?: Pressure;
}

/** A target taken as one in a tick: what its group rules are evaluated on. */
export interface GroupObservation {
  target: string;
  /** Its processes this tick; none is a group of 0 (`count < 1`), not a missing one. */
  members: readonly ProcessSample[];
  /** Their sums (see `groupTotals`); `pss` only where it was read. */
  total: GroupTotal;
  cgroup?: GroupCgroup;
}

export interface TickInput {
  system: SystemSample;
  processes: Iterable<ProcessObservation>;
  /** One per target with group rules; a target left out for several ticks is forgotten. */
  groups?: Iterable<GroupObservation>;
}

/** Members a group event lists by name: the biggest, so an event stays small for 1000 processes. */
export const MAX_EVENT_MEMBERS = 20;

export interface RuleEngineOptions {
  /** Monotonic milliseconds (e.g. `performance.now`); never the wall clock. */
  clock: () => number;
  /** The expected time between ticks. */
  intervalMs: number;
  /**
   * The longest step one tick may add to the engine's time; default 2 × interval. A clock that
   * leaps (or a watcher that was stopped) then cannot expire every cooldown at once, and a clock
   * that goes back adds nothing instead of freezing everything.
   */
  maxStepMs?: number;
  /** Consecutive clear cycles before a firing rule resolves; default 3. */
  resolveAfterCycles?: number;
  /** How far past the threshold a value must go back to count as clear; default 0.05 (5 %). */
  hysteresisFraction?: number;
  /** Ticks an identity may be missing before its state is dropped; default 3. */
  forgetAfterTicks?: number;
  /** Cap on identities held; the least recently seen are dropped beyond it. Default 50 000. */
  maxIdentities?: number;
  /** Where firings are remembered across restarts of the watcher; nothing is when absent. */
  memory?: RuleMemory;
}

/** A rule's last firing for a process, as a previous watcher left it. */
export interface RememberedFiring {
  ruleKey: string;
  /** How long ago it fired; never negative. */
  agoMs: number;
  /** Its episode had not cleared yet. */
  firing: boolean;
}

/**
 * What outlives the engine: per (rule, process), when the rule last fired and whether it still
 * is firing, so that a restarted watcher keeps cooldowns instead of acting again at once. Rules
 * are named by `ruleKey`, which changes when a rule's target, condition, actions or cooldown do.
 */
export interface RuleMemory {
  /** Asked once per process, when the engine first sees it. */
  recall(identity: ProcessIdentity): readonly RememberedFiring[];
  fired(ruleKey: string, identity: ProcessIdentity): void;
  cleared(ruleKey: string, identity: ProcessIdentity): void;
  /** The process is gone, or no longer watched. */
  forget(identity: ProcessIdentity): void;
  /** A group rule's firings for a target, asked once, when the engine first sees the target. */
  recallGroup(target: string): readonly RememberedFiring[];
  firedGroup(ruleKey: string, target: string): void;
  clearedGroup(ruleKey: string, target: string): void;
}

export interface RuleEngineStats {
  identities: number;
  ruleStates: number;
  historyPoints: number;
  /** Identities dropped because of maxIdentities, not because they went away. */
  droppedIdentities: number;
}

type Status = 'inactive' | 'pending' | 'firing';

interface RuleState {
  status: Status;
  pendingSinceMs: number;
  /** Ring of the last `withinCycles` results for `N times within M cycles`. */
  hits?: Uint8Array;
  hitIndex: number;
  hitCount: number;
  clearStreak: number;
  lastFiredMs?: number;
  /** A `fired` event went out for the current episode, so a `resolved` one is owed. */
  announced: boolean;
  lastValue: number | boolean | undefined;
}

interface IdentityState {
  identity: ProcessIdentity;
  name: string;
  lastSeenTick: number;
  rules: (RuleState | undefined)[];
  history?: GrowthHistory;
}

/** A group rule's state is the target's: one per (rule, target), however many processes it has. */
interface GroupState {
  target: string;
  lastSeenTick: number;
  rules: (RuleState | undefined)[];
  /** The last observation, for the event that says the group is gone. */
  observation: GroupObservation;
}

type Subject = IdentityState | GroupState;

function isGroup(subject: Subject): subject is GroupState {
  return 'target' in subject;
}

const DEFAULT_RESOLVE_AFTER_CYCLES = 3;
const DEFAULT_HYSTERESIS_FRACTION = 0.05;
const DEFAULT_FORGET_AFTER_TICKS = 3;
const DEFAULT_MAX_IDENTITIES = 50_000;

function fingerprint(rule: RuleSpec): string {
  const parts: unknown[] = [rule.target, rule.when.source, rule.actions, rule.cooldownMs];
  // Only when present, so that the keys of rules without a chain stay what they were.
  if (rule.escalate !== undefined) parts.push(rule.escalate);
  return JSON.stringify(parts);
}

/**
 * A short stable name for a rule's fingerprint, for the memory that outlives the engine: it
 * changes when the rule's target, condition, actions, chain or cooldown do.
 */
export function ruleKey(rule: RuleSpec): string {
  return createHash('sha256').update(fingerprint(rule)).digest('hex').slice(0, 16);
}

function formatValue(clause: Clause, value: number | boolean | undefined): string {
  if (value === undefined) return 'unknown';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (clause.kind !== 'compare') return String(value);
  switch (clause.unit) {
    case 'bytes':
      return formatBytes(value);
    case 'percent':
      return formatPercent(value);
    case 'count':
      return String(value);
    case 'bytesPerSecond':
      return `${formatBytes(value * 3600)}/h`;
    case 'seconds':
      return formatDuration(value * 1000);
  }
}

/**
 * Evaluates rules against each tick's samples and keeps, per (rule, process identity), the state
 * inactive → pending → firing → (resolved) inactive. It emits events and nothing else.
 *
 * Time is the engine's own: the sum of the injected monotonic clock's steps, each clamped to
 * [0, maxStepMs]. Windows (`for`), cooldowns and growth all use it.
 */
export class RuleEngine {
  private rules: RuleSpec[] = [];
  private ruleKeys: string[] = [];
  private ruleIndexByKey = new Map<string, number>();
  /** Per-process rules by target. */
  private rulesByTarget = new Map<string, number[]>();
  /** Group rules (`total.pss`, `count`) by target. */
  private groupRulesByTarget = new Map<string, number[]>();
  private groupTargetNames: ReadonlySet<string> = new Set();
  private growthWindowMs = 0;
  /** Targets with a growth rule: only their processes need an RSS history. */
  private growthTargets = new Set<string>();
  /** Indexes of rules with an `oom_killed` clause: the only ones a killed process is evaluated for. */
  private oomRules = new Set<number>();
  /** By pid; the entry's start time tells whether it is still the same process. */
  private readonly identities = new Map<number, IdentityState>();
  private readonly groups = new Map<string, GroupState>();
  private tickNumber = 0;
  private nowMs = 0;
  private lastClockMs: number | undefined;
  private droppedIdentities = 0;
  private readonly maxStepMs: number;
  private readonly resolveAfterCycles: number;
  private readonly hysteresisFraction: number;
  private readonly forgetAfterTicks: number;
  private readonly maxIdentities: number;

  constructor(
    rules: readonly RuleSpec[],
    private readonly options: RuleEngineOptions,
  ) {
    this.maxStepMs = options.maxStepMs ?? 2 * options.intervalMs;
    this.resolveAfterCycles = options.resolveAfterCycles ?? DEFAULT_RESOLVE_AFTER_CYCLES;
    this.hysteresisFraction = options.hysteresisFraction ?? DEFAULT_HYSTERESIS_FRACTION;
    this.forgetAfterTicks = options.forgetAfterTicks ?? DEFAULT_FORGET_AFTER_TICKS;
    this.maxIdentities = options.maxIdentities ?? DEFAULT_MAX_IDENTITIES;
    this.setRules(rules);
  }

  /**
   * Replaces the rules (a config reload). A rule whose target, condition, actions and cooldown
   * are unchanged keeps its state — pending time, cooldown, counters — even if it moved.
   */
  setRules(rules: readonly RuleSpec[]): void {
    const oldIndex = new Map<string, number[]>();
    this.rules.forEach((rule, index) => {
      const key = fingerprint(rule);
      oldIndex.set(key, [...(oldIndex.get(key) ?? []), index]);
    });
    const carried = rules.map((rule) => oldIndex.get(fingerprint(rule))?.shift());
    for (const subject of [...this.identities.values(), ...this.groups.values()]) {
      subject.rules = carried.map((old) => (old === undefined ? undefined : subject.rules[old]));
    }
    this.rules = [...rules];
    this.ruleKeys = this.rules.map(ruleKey);
    this.ruleIndexByKey = new Map(this.ruleKeys.map((key, index) => [key, index]));
    this.rulesByTarget = new Map();
    this.groupRulesByTarget = new Map();
    this.rules.forEach((rule, index) => {
      const byTarget = rule.when.scope === 'group' ? this.groupRulesByTarget : this.rulesByTarget;
      const indexes = byTarget.get(rule.target);
      if (indexes) indexes.push(index);
      else byTarget.set(rule.target, [index]);
    });
    this.groupTargetNames = new Set(this.groupRulesByTarget.keys());
    this.oomRules = new Set(
      this.rules.flatMap((rule, index) =>
        rule.when.clauses.some((c) => c.kind === 'oom_killed') ? [index] : [],
      ),
    );
    const previousWindowMs = this.growthWindowMs;
    const needs = ruleNeeds(this.rules);
    this.growthWindowMs = needs.growthWindowMs;
    this.growthTargets = needs.growthTargets;
    // A history thinned for another window cannot answer for this one.
    if (this.growthWindowMs !== previousWindowMs) {
      for (const identity of this.identities.values()) delete identity.history;
    }
  }

  get hasRules(): boolean {
    return this.rules.length > 0;
  }

  /** The targets with group rules: only theirs need a GroupObservation each tick. */
  get groupTargets(): ReadonlySet<string> {
    return this.groupTargetNames;
  }

  stats(): RuleEngineStats {
    let ruleStates = 0;
    let historyPoints = 0;
    for (const identity of this.identities.values()) {
      for (const state of identity.rules) if (state !== undefined) ruleStates++;
      historyPoints += identity.history?.size ?? 0;
    }
    for (const group of this.groups.values())
      for (const state of group.rules) if (state !== undefined) ruleStates++;
    return {
      identities: this.identities.size,
      ruleStates,
      historyPoints,
      droppedIdentities: this.droppedIdentities,
    };
  }

  private advanceClock(): void {
    const clockMs = this.options.clock();
    if (this.lastClockMs !== undefined) {
      const stepMs = clockMs - this.lastClockMs;
      this.nowMs += Math.min(Math.max(stepMs, 0), this.maxStepMs);
    }
    this.lastClockMs = clockMs;
  }

  /** Evaluates one tick. Returns the events in rule order, destructive actions arbitrated. */
  tick(input: TickInput): RuleEvent[] {
    this.advanceClock();
    this.tickNumber++;
    const events: RuleEvent[] = [];
    for (const observation of input.processes) {
      const sample = observation.sample;
      if (sample.kernelThread) continue;
      let identity = this.identities.get(sample.pid);
      if (identity === undefined || identity.identity.startTicks !== sample.startTicks) {
        // A reused pid: whatever was known about the pid belongs to a process that is gone.
        if (identity !== undefined) this.drop(identity, events);
        identity = {
          identity: { pid: sample.pid, startTicks: sample.startTicks },
          name: sample.name,
          lastSeenTick: 0,
          rules: [],
        };
        this.recall(identity, this.options.memory?.recall(identity.identity));
        this.identities.set(sample.pid, identity);
      }
      // The same process listed twice in one tick must not count twice.
      if (identity.lastSeenTick === this.tickNumber) continue;
      identity.lastSeenTick = this.tickNumber;
      identity.name = sample.name;
      if (sample.rss !== undefined && observation.targets.some((target) => this.growthTargets.has(target))) {
        identity.history ??= new GrowthHistory(this.growthWindowMs);
        identity.history.record(this.nowMs, sample.rss);
      }
      let fired: Arbitrated[] | undefined;
      for (const index of this.applicableRules(observation.targets)) {
        if (observation.oomKilled && !this.oomRules.has(index)) continue;
        const rule = this.rules[index];
        if (rule === undefined) continue;
        const values = rule.when.clauses.map((clause) =>
          this.measure(clause, identity, observation, input.system),
        );
        const event = this.evaluate(index, identity, values);
        if (event === undefined) continue;
        this.remember(index, event);
        if (event.kind === 'resolved') events.push(event);
        else if (fired === undefined) fired = [{ index, event }];
        else fired.push({ index, event });
      }
      if (fired !== undefined) events.push(...arbitrate(fired));
    }
    for (const observation of input.groups ?? []) this.tickGroup(observation, input.system, events);
    this.forget(events);
    return events;
  }

  /** A target's group rules, once for the target: their events name it, not one process. */
  private tickGroup(observation: GroupObservation, system: SystemSample, events: RuleEvent[]): void {
    const indexes = this.groupRulesByTarget.get(observation.target);
    if (indexes === undefined) return;
    let group = this.groups.get(observation.target);
    if (group === undefined) {
      group = { target: observation.target, lastSeenTick: 0, rules: [], observation };
      this.recall(group, this.options.memory?.recallGroup(observation.target));
      this.groups.set(observation.target, group);
    }
    if (group.lastSeenTick === this.tickNumber) return;
    group.lastSeenTick = this.tickNumber;
    group.observation = observation;
    const fired: Arbitrated[] = [];
    for (const index of indexes) {
      const rule = this.rules[index];
      if (rule === undefined) continue;
      const values = rule.when.clauses.map((clause) => measureGroup(clause, observation, system));
      const event = this.evaluate(index, group, values);
      if (event === undefined) continue;
      this.remember(index, event);
      if (event.kind === 'resolved') events.push(event);
      else fired.push({ index, event });
    }
    if (fired.length > 0) events.push(...arbitrate(fired));
  }

  /**
   * Takes up what a previous watcher remembered of a process, or of a target taken as a group: a
   * rule that fired for it is still cooling down (its cooldown counted from the remembered
   * firing), and one that was firing still is, so it resolves when its condition clears instead
   * of firing anew.
   */
  private recall(subject: Subject, firings: readonly RememberedFiring[] | undefined): void {
    for (const remembered of firings ?? []) {
      const index = this.ruleIndexByKey.get(remembered.ruleKey);
      if (index === undefined) continue;
      // A key names its rule's scope too: a group's memory cannot land on a per-process rule.
      if ((this.rules[index]?.when.scope === 'group') !== isGroup(subject)) continue;
      subject.rules[index] = {
        status: remembered.firing ? 'firing' : 'inactive',
        pendingSinceMs: 0,
        hitIndex: 0,
        hitCount: 0,
        clearStreak: 0,
        lastFiredMs: this.nowMs - Math.max(0, remembered.agoMs),
        announced: remembered.firing,
        lastValue: undefined,
      };
    }
  }

  /** A fired event starts the rule's cooldown; a cleared one ends its episode. */
  private remember(index: number, event: RuleEvent): void {
    const memory = this.options.memory;
    const key = this.ruleKeys[index];
    if (memory === undefined || key === undefined) return;
    if (event.identity === undefined) {
      if (event.kind === 'fired') memory.firedGroup(key, event.target);
      else memory.clearedGroup(key, event.target);
    } else if (event.kind === 'fired') memory.fired(key, event.identity);
    else memory.cleared(key, event.identity);
  }

  /** Rule indexes in file order, each once, for a process in one or more targets. */
  private applicableRules(targets: readonly string[]): readonly number[] {
    if (targets.length === 1) return this.rulesByTarget.get(targets[0] ?? '') ?? [];
    const indexes = new Set<number>();
    for (const target of targets)
      for (const index of this.rulesByTarget.get(target) ?? []) indexes.add(index);
    return [...indexes].sort((a, b) => a - b);
  }

  /** One rule's step for one subject (a process, or a target as a group) on its measured values. */
  private evaluate(
    index: number,
    subject: Subject,
    values: (number | boolean | undefined)[],
  ): RuleEvent | undefined {
    const rule = this.rules[index];
    if (rule === undefined) return undefined;
    let state = subject.rules[index];
    const truth = conditionTruth(rule.when, values);
    if (state === undefined) {
      // Nothing to remember for a rule that has never been near its threshold.
      if (truth !== 'true') return undefined;
      state = {
        status: 'inactive',
        pendingSinceMs: 0,
        hitIndex: 0,
        hitCount: 0,
        clearStreak: 0,
        announced: false,
        lastValue: undefined,
      };
      subject.rules[index] = state;
    }
    state.lastValue = values[0];
    const persistence = rule.when.persistence;

    if (state.status === 'firing') {
      const relaxed = conditionTruth(rule.when, values, this.hysteresisFraction);
      if (relaxed === 'false') {
        state.clearStreak++;
        if (state.clearStreak < this.resolveAfterCycles) return undefined;
        const announced = state.announced;
        this.reset(state);
        return announced ? this.event('resolved', rule, subject, values, 'cleared') : undefined;
      }
      if (relaxed === 'unknown') return undefined;
      state.clearStreak = 0;
      return this.fire(rule, state, subject, values, true);
    }

    switch (persistence.kind) {
      case 'immediate':
        if (truth === 'true') return this.fire(rule, state, subject, values, false);
        break;
      case 'for':
        if (truth === 'true') {
          if (state.status === 'inactive') {
            state.status = 'pending';
            state.pendingSinceMs = this.nowMs;
          }
          if (this.nowMs - state.pendingSinceMs >= persistence.durationMs) {
            return this.fire(rule, state, subject, values, false);
          }
        } else if (truth === 'false') {
          state.status = 'inactive';
        }
        break;
      case 'count': {
        state.hits ??= new Uint8Array(persistence.withinCycles);
        const hit = truth === 'true' ? 1 : 0;
        state.hitCount += hit - (state.hits[state.hitIndex] ?? 0);
        state.hits[state.hitIndex] = hit;
        state.hitIndex = (state.hitIndex + 1) % persistence.withinCycles;
        if (state.hitCount >= persistence.times) return this.fire(rule, state, subject, values, false);
        state.status = state.hitCount > 0 ? 'pending' : 'inactive';
        break;
      }
    }
    // An idle state whose cooldown is over holds nothing a fresh one would not.
    const coolingDown = state.lastFiredMs !== undefined && this.nowMs - state.lastFiredMs < rule.cooldownMs;
    if (state.status === 'inactive' && !coolingDown) subject.rules[index] = undefined;
    return undefined;
  }

  /** Enters or stays in firing; emits `fired` only when the cooldown allows. */
  private fire(
    rule: RuleSpec,
    state: RuleState,
    subject: Subject,
    values: (number | boolean | undefined)[],
    alreadyFiring: boolean,
  ): RuleEvent | undefined {
    if (!alreadyFiring) {
      state.status = 'firing';
      state.clearStreak = 0;
    }
    if (state.lastFiredMs !== undefined && this.nowMs - state.lastFiredMs < rule.cooldownMs) return undefined;
    const repeat = state.announced;
    state.lastFiredMs = this.nowMs;
    state.announced = true;
    const event = this.event('fired', rule, subject, values);
    event.repeat = repeat;
    return event;
  }

  private reset(state: RuleState): void {
    state.status = 'inactive';
    state.announced = false;
    state.clearStreak = 0;
    state.hitCount = 0;
    state.hitIndex = 0;
    state.hits?.fill(0);
  }

  private measure(
    clause: Clause,
    identity: IdentityState,
    observation: ProcessObservation,
    system: SystemSample,
  ): number | boolean | undefined {
    if (clause.kind === 'leak') return observation.leak;
    if (clause.kind !== 'compare') return observation.oomKilled === true;
    const sample = observation.sample;
    switch (clause.metric) {
      case 'rss':
        return sample.rss;
      case 'pss':
        return sample.pss;
      case 'vms':
        return sample.vms;
      case 'mem%':
        return sample.memPercent;
      case 'limit%':
        return sample.memLimitPercent;
      case 'cpu%':
        return sample.cpuPercent;
      case 'threads':
        return sample.threads;
      case 'available':
        return availableValue(clause, system);
      case 'oom_in':
        return observation.oomInSeconds;
      case 'growth':
        if (sample.rss === undefined) return undefined;
        return identity.history?.bytesPerSecond(
          this.nowMs,
          sample.rss,
          clause.overMs ?? DEFAULT_GROWTH_WINDOW_MS,
        );
      default:
        if (clause.metric.startsWith('cgroup.')) return pressureValue(sample.cgroupPressure, clause.metric);
        // The parser keeps group metrics out of per-process rules; the machine's PSI is left.
        return clause.metric.startsWith('psi.') ? pressureValue(system.pressure, clause.metric) : undefined;
    }
  }

  private event(
    kind: RuleEvent['kind'],
    rule: RuleSpec,
    subject: Subject,
    values: readonly (number | boolean | undefined)[],
    reason?: RuleEvent['reason'],
  ): RuleEvent {
    const first = rule.when.clauses[0];
    const readings = rule.when.clauses
      .map((clause, i) => {
        const label = clause.kind === 'compare' ? clause.metric : clause.kind;
        return `${label} ${formatValue(clause, values[i])}`;
      })
      .join(', ');
    const group = isGroup(subject) ? groupInfo(subject.observation) : undefined;
    let what = reason === 'gone' ? (group ? 'no longer watched' : 'process gone') : readings;
    if (group !== undefined && group.pssFromRss > 0 && reason !== 'gone')
      what += ` (${group.pssFromRss} of ${group.count} counted by RSS: PSS not readable)`;
    const on = isGroup(subject)
      ? `target ${subject.target} (${describeMembers(group as GroupEventInfo)})`
      : `pid ${subject.identity.pid} (${subject.name})`;
    const event: RuleEvent = {
      kind,
      ruleId: rule.id,
      target: rule.target,
      ...(isGroup(subject) ? { group } : { identity: { ...subject.identity } }),
      name: isGroup(subject) ? subject.target : subject.name,
      metric: first === undefined ? 'leak' : first.kind === 'compare' ? first.metric : first.kind,
      value: values[0],
      threshold: first === undefined || first.kind !== 'compare' ? true : first.threshold,
      message: `${rule.id} ${kind} '${rule.when.source}' on ${on}: ${what}`,
      actions: kind === 'fired' ? [...rule.actions] : [],
      suppressed: [],
      repeat: false,
    };
    if (kind === 'fired' && rule.escalate !== undefined) event.escalate = [...rule.escalate];
    if (reason !== undefined) event.reason = reason;
    return event;
  }

  /**
   * Whether a rule's condition holds for a process now, on a fresh observation: its clauses at
   * their plain thresholds, without persistence (`for 1m`), hysteresis or cooldown — the question
   * an escalation chain asks before each step. Undefined when a value is unknown or there is no
   * such rule.
   */
  conditionHolds(ruleId: string, observation: ProcessObservation, system: SystemSample): boolean | undefined {
    const rule = this.rules.find((r) => r.id === ruleId);
    if (rule === undefined || rule.when.scope === 'group') return undefined;
    const { pid, startTicks, name } = observation.sample;
    const known = this.identities.get(pid);
    // A growth clause reads the process's RSS history, which only the same process may lend.
    const identity: IdentityState =
      known?.identity.startTicks === startTicks
        ? known
        : { identity: { pid, startTicks }, name, lastSeenTick: 0, rules: [] };
    const values = rule.when.clauses.map((clause) => this.measure(clause, identity, observation, system));
    return holding(conditionTruth(rule.when, values));
  }

  /**
   * The same question for a group rule, on the target measured afresh (its members read again):
   * what a group's escalation chain asks before each step.
   */
  groupConditionHolds(
    ruleId: string,
    observation: GroupObservation,
    system: SystemSample,
  ): boolean | undefined {
    const rule = this.rules.find((r) => r.id === ruleId);
    if (rule === undefined || rule.when.scope !== 'group') return undefined;
    const values = rule.when.clauses.map((clause) => measureGroup(clause, observation, system));
    return holding(conditionTruth(rule.when, values));
  }

  /** Drops identities that are gone, then the least recently seen beyond the cap. */
  private forget(events: RuleEvent[]): void {
    for (const identity of this.identities.values()) {
      if (this.tickNumber - identity.lastSeenTick >= this.forgetAfterTicks) this.drop(identity, events);
    }
    for (const group of this.groups.values()) {
      if (this.tickNumber - group.lastSeenTick < this.forgetAfterTicks) continue;
      this.groups.delete(group.target);
      this.owed(group, events);
    }
    const excess = this.identities.size - this.maxIdentities;
    if (excess <= 0) return;
    const stalest = [...this.identities.values()]
      .sort((a, b) => a.lastSeenTick - b.lastSeenTick)
      .slice(0, excess);
    for (const identity of stalest) this.drop(identity, events);
    this.droppedIdentities += excess;
  }

  /** Forgets a process, owing a `resolved` for each rule that announced it was firing. */
  private drop(identity: IdentityState, events: RuleEvent[]): void {
    this.identities.delete(identity.identity.pid);
    if (identity.rules.some((state) => state?.lastFiredMs !== undefined))
      this.options.memory?.forget(identity.identity);
    this.owed(identity, events);
  }

  /** A `resolved` for each rule that announced it was firing for a subject now gone. */
  private owed(subject: Subject, events: RuleEvent[]): void {
    subject.rules.forEach((state, index) => {
      const rule = this.rules[index];
      if (state?.announced && rule !== undefined) {
        events.push(this.event('resolved', rule, subject, [state.lastValue], 'gone'));
      }
    });
  }
}

function holding(truth: ReturnType<typeof conditionTruth>): boolean | undefined {
  return truth === 'unknown' ? undefined : truth === 'true';
}

/** A PSI metric's value (`psi.full60`, `cgroup.psi.some`: avg10 unless a window is named). */
export function pressureValue(pressure: Pressure | undefined, metric: string): number | undefined {
  const m = /psi\.(some|full)(10|60|300)?$/.exec(metric);
  if (!m || pressure === undefined) return undefined;
  const line = m[1] === 'full' ? pressure.full : pressure.some;
  if (line === undefined) return undefined;
  return m[2] === '60' ? line.avg60 : m[2] === '300' ? line.avg300 : line.avg10;
}

function availableValue(clause: CompareClause, system: SystemSample): number | undefined {
  if (clause.unit === 'percent')
    return system.memTotal > 0 ? (system.memAvailable / system.memTotal) * 100 : undefined;
  return system.memAvailable;
}

/**
 * A group metric's value. `total.uss` is unknown while any member's is unreadable: a part of it
 * would say less than stopping the group frees. `total.pss` counts a member whose PSS is refused
 * with its RSS instead (more, never less; the event says how many), but is unknown while a
 * member's PSS is not read yet: a start-up's RSS stand-ins must not fire a rule the real values
 * would not.
 */
function measureGroup(
  clause: Clause,
  observation: GroupObservation,
  system: SystemSample,
): number | boolean | undefined {
  if (clause.kind !== 'compare') return undefined;
  const { total, cgroup } = observation;
  switch (clause.metric) {
    case 'total.rss':
      return total.rss;
    case 'total.pss':
      return total.pssUnread?.length ? undefined : total.pss;
    case 'total.uss':
      return total.pssFromRss.length > 0 ? undefined : total.uss;
    case 'count':
      return total.processes;
    case 'memory.current':
      return cgroup?.currentBytes;
    case 'memory.max':
      return cgroup?.limitBytes;
    case 'total.limit%':
      return cgroup?.currentBytes === undefined || cgroup.limitBytes === undefined || cgroup.limitBytes <= 0
        ? undefined
        : (cgroup.currentBytes / cgroup.limitBytes) * 100;
    case 'available':
      return availableValue(clause, system);
    default:
      if (clause.metric.startsWith('total.psi.')) return pressureValue(cgroup?.pressure, clause.metric);
      return clause.metric.startsWith('psi.') ? pressureValue(system.pressure, clause.metric) : undefined;
  }
}

/** A group as its events carry it: its sums, its cgroup, and its biggest members by name. */
function groupInfo(observation: GroupObservation): GroupEventInfo {
  const { total, cgroup } = observation;
  const size = (s: ProcessSample) => s.pss ?? s.rss ?? 0;
  const members = [...observation.members]
    .sort((a, b) => size(b) - size(a))
    .slice(0, MAX_EVENT_MEMBERS)
    .map((s) => ({
      pid: s.pid,
      startTicks: s.startTicks,
      name: s.name,
      ...(s.rss === undefined ? {} : { rss: s.rss }),
      ...(s.pss === undefined ? {} : { pss: s.pss }),
    }));
  return {
    count: total.processes,
    members,
    rss: total.rss,
    ...(total.pss === undefined ? {} : { pss: total.pss }),
    ...(total.uss === undefined || total.pssFromRss.length > 0 ? {} : { uss: total.uss }),
    pssFromRss: total.pssFromRss.length,
    ...(cgroup === undefined ? {} : { cgroup: cgroup.path }),
    ...(cgroup?.currentBytes === undefined ? {} : { currentBytes: cgroup.currentBytes }),
    ...(cgroup?.limitBytes === undefined ? {} : { limitBytes: cgroup.limitBytes }),
  };
}

/** `3 processes, biggest pid 812 (python3)`, or `no processes`. */
function describeMembers(group: GroupEventInfo): string {
  const biggest = group.members[0];
  if (biggest === undefined) return 'no processes';
  const count = `${group.count} process${group.count === 1 ? '' : 'es'}`;
  return `${count}, biggest pid ${biggest.pid} (${biggest.name})`;
}
