import {
  type ActionResult,
  type ActionRunner,
  isDestructive,
  ownPids,
  protectionReason,
} from '../actions/index.js';
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

/** A group's members, the biggest first: by PSS where it is read, else RSS. */
export function biggestFirst(members: readonly ProcessSample[]): ProcessSample[] {
  const size = (s: ProcessSample) => s.pss ?? s.rss ?? 0;
  return [...members].sort((a, b) => size(b) - size(a));
}

/**
 * The member a group's single actions go to: the biggest of `members` (biggest first) that may
 * be acted on; pid 1, a kernel thread or memwarden itself is passed over.
 */
export function groupVictim(members: readonly ProcessSample[]): ProcessSample | undefined {
  const protectedPids = ownPids();
  return members.find((s) => protectionReason(s, protectedPids) === undefined);
}

/** Actions that free a group's memory only when every member does them. */
export const EACH_MEMBER: ReadonlySet<string> = new Set(['gc', 'trim']);

/**
 * A group rule's actions: `gc` and `trim` go to every member (each frees its own heap, and the
 * group's total is theirs together); `signal`, `snapshot`, `exec` and `webhook` go once, to the
 * biggest member that may be acted on (`groupVictim`), as an OOM killer would choose, so that a
 * group over its budget is not stopped whole by one rule (`restart`, once, is for that). Members
 * are taken biggest first, one at a time. A group with
 * no processes gets only its log line and notices.
 */
export async function carryOutForGroup(
  runner: ActionRunner,
  event: RuleEvent,
  members: readonly ProcessSample[],
  cycle: number,
  onResult: (result: ActionResult) => void,
): Promise<void> {
  const biggest = groupVictim(members);
  if (biggest === undefined) return;
  const once = event.actions.filter((a) => !EACH_MEMBER.has(a.kind));
  const each = event.actions.filter((a) => EACH_MEMBER.has(a.kind));
  await carryOut(runner, { ...event, actions: once }, biggest, cycle, onResult);
  // One member after another: a gc opens the process up, and a group may have hundreds.
  if (each.length > 0)
    for (const member of members)
      await carryOut(runner, { ...event, actions: each }, member, cycle, onResult);
}
