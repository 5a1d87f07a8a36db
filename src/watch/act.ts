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
