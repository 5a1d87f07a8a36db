import {
  type ActionResult,
  type ActionRunner,
  type ActionSpec,
  checkChainIdentity,
  describeEscalation,
  type EscalationEnd,
  type EscalationHooks,
  type EscalationStepOutcome,
  type EscalationStepRecord,
  isDestructive,
  type LiveProcessSource,
  runEscalation,
} from '../actions/index.js';
import { identityKey, type ProcessIdentity } from '../proc/index.js';
import type { RuleEvent } from '../rules/index.js';
import type { ProcessSample } from '../sample/index.js';
import type { Store } from '../store/index.js';
import { EACH_MEMBER, groupVictim } from './act.js';

/** A step that ran, or how the chain ended, as the watcher tells its listeners and the store. */
export interface EscalationNotice {
  time: number;
  target: string;
  rule: string;
  /**
   * The process the chain is about. For a group rule's chain, its victim (absent until a
   * destructive step fixed one); the notice carries `group: true` then.
   */
  pid?: number;
  startTicks?: number;
  /** A group rule's chain: about the target as a whole. */
  group?: true;
  message: string;
  /** The step that just ended; absent on the notice of the chain's end. */
  step?: EscalationStepRecord;
  /** How the chain ended; absent on a step's notice. */
  end?: EscalationEnd;
}

/** A ProcReader, as far as a chain reads it. */
interface ChainReader extends LiveProcessSource {
  read(pid: number): { rss?: number; startTicks: number; state: string } | undefined;
}

/** A target measured afresh for its group rule's chain. */
export interface GroupMeasure {
  /** The rule's condition on the fresh sums; undefined when it cannot be told. */
  holds: boolean | undefined;
  /** The members read afresh, biggest first (by PSS where read, else RSS). */
  members: readonly ProcessSample[];
}

export interface EscalationDeps {
  runner: ActionRunner;
  store?: Store;
  /** Where identities and RSS are read afresh before and after each step. */
  reader: ChainReader;
  /** The rule's condition for the process, measured now. */
  holds(ruleId: string, identity: ProcessIdentity, target: string): boolean | undefined;
  /** A group rule's target measured now; undefined when it is no longer a target. */
  measureGroup(ruleId: string, target: string): GroupMeasure | undefined;
  /** The watcher's cycle now: a destructive step counts against the cycle it runs in. */
  cycle(): number;
  onAction(result: ActionResult): void;
  onNotice(notice: EscalationNotice): void;
}

/** What a chain runs on: a process, or a target as a group. */
interface ChainSubject {
  key: string;
  /** Who the notices name now (a group's victim once it has one). */
  who(): { pid?: number; startTicks?: number; group?: true };
  save(nextStep: number): void;
  hooks: Pick<EscalationHooks, 'identity' | 'holds' | 'rss' | 'act'>;
}

/**
 * The escalation chains the watcher runs, one per (rule, process) — or (group rule, target) — at
 * a time, beside the tick. Each chain's progress is written to the rule's firing in the history
 * file after every step, so a watcher restarted mid-chain resumes at the next step of the same
 * firing; `stopAll` leaves that progress for the next watcher to take up.
 */
export class Escalations {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: EscalationDeps) {}

  get size(): number {
    return this.running.size;
  }

  /**
   * Starts `event`'s chain for the process (from `startAt` when resuming), unless one already runs
   * for the same rule and process. Returns the chain's end, or undefined when none was started.
   */
  start(
    event: RuleEvent,
    sample: ProcessSample,
    ruleKey: string,
    startAt = 0,
  ): Promise<EscalationEnd | undefined> {
    const identity = event.identity;
    if (identity === undefined) return Promise.resolve(undefined);
    const { deps } = this;
    return this.launch(event, startAt, {
      key: `${event.ruleId}\0${identityKey(identity)}`,
      who: () => identity,
      save: (nextStep) => deps.store?.saveChainStep(ruleKey, identity.pid, identity.startTicks, nextStep),
      hooks: {
        identity: () => checkChainIdentity(identity, deps.reader),
        holds: () => deps.holds(event.ruleId, identity, event.target),
        rss: () => deps.reader.read(identity.pid)?.rss,
        act: (step) => this.act(step, event, sample),
      },
    });
  }

  /**
   * A group rule's chain for its target, acting on the group as its `do:` actions do: `gc` and
   * `trim` go to every member, biggest first, one after another; any other step goes to one
   * member, the biggest that may be acted on (never pid 1, a kernel thread or memwarden). The
   * first destructive step (signal, exec, restart) fixes that member as the chain's victim: later
   * single steps go to it alone (a SIGKILL never reaches a process that was not sent the SIGTERM
   * before it), its identity is checked before every step and during waits, and the chain ends
   * when it is gone. Before each step the target is measured again, its members read afresh, and
   * the chain stops once the group's condition no longer holds. `members` are the firing's,
   * biggest first.
   */
  startGroup(
    event: RuleEvent,
    members: readonly ProcessSample[],
    ruleKey: string,
    startAt = 0,
  ): Promise<EscalationEnd | undefined> {
    if (event.identity !== undefined) return Promise.resolve(undefined);
    const { deps } = this;
    let current = members;
    let victim: ProcessSample | undefined;
    const key = `${event.ruleId}\0target:${event.target}`;
    return this.launch(event, startAt, {
      key,
      who: () => (victim ? { pid: victim.pid, startTicks: victim.startTicks, group: true } : { group: true }),
      save: (nextStep) => deps.store?.saveGroupChainStep(ruleKey, event.target, nextStep),
      hooks: {
        identity: () => (victim ? checkChainIdentity(victim, deps.reader) : { ok: true }),
        holds: () => {
          const measured = deps.measureGroup(event.ruleId, event.target);
          if (measured === undefined) return undefined;
          current = measured.members;
          if (victim)
            victim =
              current.find((s) => s.pid === victim?.pid && s.startTicks === victim.startTicks) ?? victim;
          return measured.holds;
        },
        rss: () => (victim ? deps.reader.read(victim.pid)?.rss : undefined),
        act: async (step) => {
          if (EACH_MEMBER.has(step.kind)) return this.actOnEach(step, event, current, key);
          const target = victim ?? groupVictim(current);
          if (target === undefined)
            return { ok: false, code: 'ESRCH', message: `target ${event.target} has no process to act on` };
          if (isDestructive(step.kind)) victim = target;
          return this.act(step, event, target);
        },
      },
    });
  }

  private async act(step: ActionSpec, event: RuleEvent, sample: ProcessSample): Promise<ActionResult> {
    const result = await this.deps.runner.run(step, {
      target: event.target,
      sample,
      rule: event.ruleId,
      message: event.message,
      cycle: this.deps.cycle(),
    });
    this.deps.onAction(result);
    return result;
  }

  /**
   * A `gc` or `trim` step on every member in turn: done if it was done on any. A chain stopped
   * meanwhile (the watcher shutting down) goes to no further member.
   */
  private async actOnEach(
    step: ActionSpec,
    event: RuleEvent,
    members: readonly ProcessSample[],
    key: string,
  ): Promise<EscalationStepOutcome> {
    const results: ActionResult[] = [];
    for (const member of members) {
      if (this.running.get(key)?.signal.aborted) break;
      results.push(await this.act(step, event, member));
    }
    const done = results.filter((r) => r.ok).length;
    const codes = new Set(results.map((r) => r.code));
    const [code] = codes;
    return {
      ok: done > 0,
      // One code for them all says what happened; mixed failures are only `FAILED`.
      ...(done > 0 ? {} : { code: codes.size === 1 && code !== undefined ? code : 'FAILED' }),
      message: `${step.kind} done on ${done} of ${results.length} process${results.length === 1 ? '' : 'es'}`,
      details: {
        members: results.map((r) => ({ pid: r.pid, ok: r.ok, ...(r.code ? { code: r.code } : {}) })),
      },
    };
  }

  private launch(
    event: RuleEvent,
    startAt: number,
    subject: ChainSubject,
  ): Promise<EscalationEnd | undefined> {
    const steps = event.escalate;
    if (steps === undefined || startAt >= steps.length || this.running.has(subject.key)) {
      return Promise.resolve(undefined);
    }
    const { deps } = this;
    const controller = new AbortController();
    this.running.set(subject.key, controller);
    const notice = (message: string, extra: Partial<EscalationNotice>) => {
      const told: EscalationNotice = {
        time: Date.now(),
        target: event.target,
        rule: event.ruleId,
        ...subject.who(),
        message,
        ...extra,
      };
      // Each step's outcome and the RSS after it, and the chain's end, are events of the history.
      deps.store?.appendEvent({
        time: told.time,
        kind: 'escalation',
        target: told.target,
        ...(told.pid === undefined ? {} : { pid: told.pid }),
        ...(told.startTicks === undefined ? {} : { startTicks: told.startTicks }),
        rule: told.rule,
        message,
        details: {
          ...(told.step ?? {}),
          ...(told.end === undefined ? {} : { end: told.end }),
          ...(told.group ? { group: true } : {}),
        },
      });
      deps.onNotice(told);
    };
    subject.save(startAt);
    notice(
      `${startAt === 0 ? 'escalation started' : `escalation resumed at step ${startAt + 1}`}: ${describeEscalation(steps)}`,
      {},
    );
    const run = runEscalation(steps, {
      startAt,
      signal: controller.signal,
      ...subject.hooks,
      onStep: (record) => {
        subject.save(record.index + 1);
        notice(
          `step ${record.index + 1} ${record.text}: ${record.ok ? 'ok' : `failed (${record.code ?? 'error'})`}: ${record.message}`,
          {
            step: record,
          },
        );
      },
    });
    return run.then((result) => {
      this.running.delete(subject.key);
      // Stopped by a watcher shutting down: the saved step is where the next one resumes.
      const aborted = controller.signal.aborted;
      if (!aborted) subject.save(steps.length);
      const end: EscalationEnd = aborted ? 'aborted' : result.end;
      notice(`escalation ${end}: ${result.message}`, { end });
      return end;
    });
  }

  /** Stops every chain between steps (waits are cut short); their progress stays saved. */
  stopAll(): void {
    for (const controller of this.running.values()) controller.abort();
  }
}
