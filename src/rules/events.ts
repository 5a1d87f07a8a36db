import type { ProcessIdentity } from '../proc/index.js';
import type { ActionSpec, EscalationStep } from './actions.js';
import type { FlagClause, Metric } from './condition.js';

export interface SuppressedAction {
  action: ActionSpec;
  /** The earlier rule whose action this cycle takes precedence. */
  byRuleId: string;
}

/** What the engine tells the daemon; it is the daemon's to log, store and act on. */
export interface RuleEvent {
  kind: 'fired' | 'resolved';
  ruleId: string;
  target: string;
  identity: ProcessIdentity;
  /** The process's name (comm) when the event was made. */
  name: string;
  /** The first clause's metric, its current value (undefined if unknown) and its threshold. */
  metric: Metric | FlagClause['kind'];
  value: number | boolean | undefined;
  threshold: number | boolean;
  message: string;
  /** For `fired`: what to carry out, after precedence. Empty for `resolved`. */
  actions: ActionSpec[];
  /** For `fired`: the rule's escalation chain, when it has one. */
  escalate?: EscalationStep[];
  suppressed: SuppressedAction[];
  /** A `fired` that repeats because the condition still holds after the cooldown. */
  repeat: boolean;
  /** For `resolved`: the condition cleared, or the process is gone. */
  reason?: 'cleared' | 'gone';
}
