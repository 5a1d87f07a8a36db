import type { ProcessIdentity } from '../proc/index.js';
import type { ActionSpec, EscalationStep } from './actions.js';
import type { FlagClause, Metric } from './condition.js';

export interface SuppressedAction {
  action: ActionSpec;
  /** The earlier rule whose action this cycle takes precedence. */
  byRuleId: string;
}

/** One process of a group, as a group event lists it. */
export interface GroupMember {
  pid: number;
  startTicks: number;
  name: string;
  rss?: number;
  pss?: number;
}

/** A group rule's subject: the target as a whole, at the tick of the event. */
export interface GroupEventInfo {
  /** How many processes the target has. */
  count: number;
  /** The biggest first (by PSS where read, else RSS); at most MAX_EVENT_MEMBERS of them. */
  members: GroupMember[];
  rss: number;
  pss?: number;
  uss?: number;
  /** Members counted in `pss` with their RSS, their PSS being unreadable. */
  pssFromRss: number;
  /** The target's own cgroup, where it has one. */
  cgroup?: string;
  currentBytes?: number;
  limitBytes?: number;
}

/** What the engine tells the daemon; it is the daemon's to log, store and act on. */
export interface RuleEvent {
  kind: 'fired' | 'resolved';
  ruleId: string;
  target: string;
  /** The process a per-process rule fired for; absent for a group rule's event. */
  identity?: ProcessIdentity;
  /** For a group rule: the target as a whole, which the event is about. */
  group?: GroupEventInfo;
  /** The process's name (comm) when the event was made; the target's name for a group. */
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
  /** For `resolved`: the condition cleared, or the process (a group: its rule or target) is gone. */
  reason?: 'cleared' | 'gone';
}
