import { type ActionResult, type ActionRunner, isDestructive } from '../actions/index.js';
import type { RuleEvent } from '../rules/index.js';
import type { ProcessSample } from '../sample/index.js';

/**
 * Carries out one fired event's actions in order, beside the tick (the caller does not wait).
 * `log` is the event's own log line. A destructive action that failed ends the chain: the next
 * action must not run on the assumption that, say, the signal was delivered.
 */
export async function carryOut(
  runner: ActionRunner,
  event: RuleEvent,
  sample: ProcessSample,
  cycle: number,
  onResult: (result: ActionResult) => void,
): Promise<void> {
  for (const spec of event.actions) {
    if (spec.kind === 'log') continue;
    const result = await runner.run(spec, {
      target: event.target,
      sample,
      rule: event.ruleId,
      message: event.message,
      cycle,
    });
    onResult(result);
    if (!result.ok && isDestructive(spec.kind)) break;
  }
}

/** Actions that free a group's memory only when every member does them. */
const EACH_MEMBER: ReadonlySet<string> = new Set(['gc', 'trim']);

/**
 * A group rule's actions: `gc` and `trim` go to every member (each frees its own heap, and the
 * group's total is theirs together); `signal`, `snapshot`, `exec` and `webhook` go once, to the
 * biggest member, as an OOM killer would choose, so that a group over its budget is not stopped
 * whole by one rule (`restart`, once, is for that). Members are taken biggest first, one at a time. A group with
 * no processes gets only its log line and notices.
 */
export async function carryOutForGroup(
  runner: ActionRunner,
  event: RuleEvent,
  members: readonly ProcessSample[],
  cycle: number,
  onResult: (result: ActionResult) => void,
): Promise<void> {
  const [biggest] = members;
  if (biggest === undefined) return;
  const once = event.actions.filter((a) => !EACH_MEMBER.has(a.kind));
  const each = event.actions.filter((a) => EACH_MEMBER.has(a.kind));
  await carryOut(runner, { ...event, actions: once }, biggest, cycle, onResult);
  // One member after another: a gc opens the process up, and a group may have hundreds.
  if (each.length > 0)
    for (const member of members)
      await carryOut(runner, { ...event, actions: each }, member, cycle, onResult);
}
