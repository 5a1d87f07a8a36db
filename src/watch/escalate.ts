import {
  type ActionResult,
  type ActionRunner,
  checkChainIdentity,
  describeEscalation,
  type EscalationEnd,
  type EscalationStepRecord,
  type LiveProcessSource,
  runEscalation,
} from '../actions/index.js';
import { identityKey, type ProcessIdentity } from '../proc/index.js';
import type { RuleEvent } from '../rules/index.js';
import type { ProcessSample } from '../sample/index.js';
import type { Store } from '../store/index.js';

/** A step that ran, or how the chain ended, as the watcher tells its listeners and the store. */
export interface EscalationNotice {
  time: number;
  target: string;
  rule: string;
  pid: number;
  startTicks: number;
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

export interface EscalationDeps {
  runner: ActionRunner;
  store?: Store;
  /** Where identities and RSS are read afresh before and after each step. */
  reader: ChainReader;
  /** The rule's condition for the process, measured now. */
  holds(ruleId: string, identity: ProcessIdentity, target: string): boolean | undefined;
  /** The watcher's cycle now: a destructive step counts against the cycle it runs in. */
  cycle(): number;
  onAction(result: ActionResult): void;
  onNotice(notice: EscalationNotice): void;
}

/**
 * The escalation chains the watcher runs, one per (rule, process) at a time, beside the tick.
 * Each chain's progress is written to the rule's firing in the history file after every step, so
 * a watcher restarted mid-chain resumes at the next step of the same firing; `stopAll` leaves that
 * progress for the next watcher to take up.
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
    const steps = event.escalate;
    const identity = event.identity;
    // A group rule's chain would need the group measured again before each step: not done yet.
    if (identity === undefined) return Promise.resolve(undefined);
    const key = `${event.ruleId}\0${identityKey(identity)}`;
    if (steps === undefined || startAt >= steps.length || this.running.has(key)) {
      return Promise.resolve(undefined);
    }
    const { deps } = this;
    const controller = new AbortController();
    this.running.set(key, controller);
    const save = (nextStep: number) =>
      deps.store?.saveChainStep(ruleKey, identity.pid, identity.startTicks, nextStep);
    const notice = (message: string, extra: Partial<EscalationNotice>) => {
      const told: EscalationNotice = {
        time: Date.now(),
        target: event.target,
        rule: event.ruleId,
        pid: identity.pid,
        startTicks: identity.startTicks,
        message,
        ...extra,
      };
      // Each step's outcome and the RSS after it, and the chain's end, are events of the history.
      deps.store?.appendEvent({
        time: told.time,
        kind: 'escalation',
        target: told.target,
        pid: told.pid,
        startTicks: told.startTicks,
        rule: told.rule,
        message,
        details: { ...(told.step ?? {}), ...(told.end === undefined ? {} : { end: told.end }) },
      });
      deps.onNotice(told);
    };
    save(startAt);
    notice(
      `${startAt === 0 ? 'escalation started' : `escalation resumed at step ${startAt + 1}`}: ${describeEscalation(steps)}`,
      {},
    );
    const run = runEscalation(steps, {
      startAt,
      signal: controller.signal,
      identity: () => checkChainIdentity(identity, deps.reader),
      holds: () => deps.holds(event.ruleId, identity, event.target),
      rss: () => deps.reader.read(identity.pid)?.rss,
      act: async (step) => {
        const result = await deps.runner.run(step, {
          target: event.target,
          sample,
          rule: event.ruleId,
          message: event.message,
          cycle: deps.cycle(),
        });
        deps.onAction(result);
        return result;
      },
      onStep: (record) => {
        save(record.index + 1);
        notice(
          `step ${record.index + 1} ${record.text}: ${record.ok ? 'ok' : `failed (${record.code ?? 'error'})`}: ${record.message}`,
          {
            step: record,
          },
        );
      },
    });
    return run.then((result) => {
      this.running.delete(key);
      // Stopped by a watcher shutting down: the saved step is where the next one resumes.
      const aborted = controller.signal.aborted;
      if (!aborted) save(steps.length);
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
