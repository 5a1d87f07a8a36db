import type { RuleEvent } from '../rules/index.js';

/** What a rule event is called wherever it is written down. */
export type RuleEventKind = 'rule-fired' | 'rule-resolved';

/**
 * The fields every record of a rule event starts with, in the JSON lines, the dashboard's event
 * list and the history file alike, so the three name an event the same way.
 */
export function ruleEventRow(e: RuleEvent): {
  kind: RuleEventKind;
  rule: string;
  target: string;
  /** Absent for a group rule's event, which is about the target as a whole. */
  pid?: number;
  message: string;
} {
  return {
    kind: e.kind === 'fired' ? 'rule-fired' : 'rule-resolved',
    rule: e.ruleId,
    target: e.target,
    ...(e.identity ? { pid: e.identity.pid } : {}),
    message: e.message,
  };
}
