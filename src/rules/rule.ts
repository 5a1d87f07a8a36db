import type { ActionSpec, EscalationStep } from './actions.js';
import { parseActions } from './actions.js';
import type { Condition } from './condition.js';
import { type ParseConditionOptions, parseCondition } from './rule-parser.js';

export const DEFAULT_COOLDOWN_MS = 5 * 60_000;

/** A rule ready for the engine. Rules are evaluated, and take precedence, in array order. */
export interface RuleSpec {
  /** Stable name for logs and events, e.g. `crawler#2` (the second rule of target crawler). */
  id: string;
  /** The target (config `targets[].name`) whose processes the rule watches. */
  target: string;
  when: Condition;
  actions: ActionSpec[];
  /**
   * Steps run in order after `actions` when the rule fires, each only while the condition still
   * holds (actions/escalation carries them out).
   */
  escalate?: EscalationStep[];
  /** Least time between two `fired` events of this rule for one process. */
  cooldownMs: number;
}

export interface RuleText {
  id: string;
  target: string;
  when: string;
  /** The `do:` value as plain data (see parseActions). */
  do: unknown;
  cooldownMs?: number;
}

/** Builds a rule from its written parts; for callers without a config file. */
export function compileRule(rule: RuleText, options: ParseConditionOptions = {}): RuleSpec {
  return {
    id: rule.id,
    target: rule.target,
    when: parseCondition(rule.when, options),
    actions: parseActions(rule.do),
    cooldownMs: rule.cooldownMs ?? DEFAULT_COOLDOWN_MS,
  };
}
