import type { ProcessFilter } from '../select/index.js';
import { type ActionKind, type ActionSpec, DESTRUCTIVE_ACTIONS } from './actions.js';
import type { RuleEvent } from './events.js';
import type { RuleSpec } from './rule.js';

const ONCE_PER_CYCLE: ReadonlySet<ActionKind> = new Set(['gc', 'snapshot', 'trim']);

export interface Arbitrated {
  /** The rule's position in file order. */
  index: number;
  event: RuleEvent;
}

function slotOf(action: ActionSpec): string | undefined {
  if (DESTRUCTIVE_ACTIONS.has(action.kind)) return 'destructive';
  return ONCE_PER_CYCLE.has(action.kind) ? action.kind : undefined;
}

/**
 * Precedence between rules that fire for the same process in the same cycle: the first rule in
 * file order wins. Only it may deliver a destructive action (signal, restart, exec), and each of
 * gc, snapshot and trim is delivered once; what a later rule loses is listed in its event's
 * `suppressed` so the daemon can log it. log and webhook are never withheld.
 *
 * Applies to one process's `fired` events of one tick; returns them in rule order.
 */
export function arbitrate(fired: Arbitrated[]): RuleEvent[] {
  if (fired.length === 0) return [];
  fired.sort((a, b) => a.index - b.index);
  const takenBy = new Map<string, string>();
  return fired.map(({ event }) => {
    const kept: ActionSpec[] = [];
    for (const action of event.actions) {
      const slot = slotOf(action);
      const holder = slot === undefined ? undefined : takenBy.get(slot);
      if (holder !== undefined) {
        event.suppressed.push({ action, byRuleId: holder });
        continue;
      }
      if (slot !== undefined) takenBy.set(slot, event.ruleId);
      kept.push(action);
    }
    event.actions = kept;
    return event;
  });
}

export interface RuleOverlap {
  first: string;
  second: string;
  /** Both rules belong to one target, so they certainly watch the same processes. */
  sameTarget: boolean;
  message: string;
}

function disjoint<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): boolean {
  if (a === undefined || b === undefined || a.length === 0 || b.length === 0) return false;
  return !a.some((x) => b.includes(x));
}

/** False only when no process can match both filters; anything undecidable counts as overlap. */
function filtersMayOverlap(a: ProcessFilter | undefined, b: ProcessFilter | undefined): boolean {
  if (a === undefined || b === undefined || a.children || b.children) return true;
  return !(disjoint(a.pids, b.pids) || disjoint(a.names, b.names) || disjoint(a.users, b.users));
}

function describe(rule: RuleSpec): string {
  const destructive = rule.actions.find((a) => DESTRUCTIVE_ACTIONS.has(a.kind));
  const action = destructive?.kind === 'signal' ? `signal ${destructive.signal}` : destructive?.kind;
  return `${rule.id} (${action})`;
}

/**
 * Pairs of rules with destructive actions that can hit the same process, for a load-time
 * warning. `filters` maps target names to their match; without it, every pair across targets
 * counts as a possible overlap.
 */
export function findOverlaps(
  rules: readonly RuleSpec[],
  filters?: ReadonlyMap<string, ProcessFilter>,
): RuleOverlap[] {
  const destructive = rules.filter((rule) => rule.actions.some((a) => DESTRUCTIVE_ACTIONS.has(a.kind)));
  const overlaps: RuleOverlap[] = [];
  for (let i = 0; i < destructive.length; i++) {
    for (let j = i + 1; j < destructive.length; j++) {
      const first = destructive[i];
      const second = destructive[j];
      if (first === undefined || second === undefined) continue;
      const sameTarget = first.target === second.target;
      if (!sameTarget && !filtersMayOverlap(filters?.get(first.target), filters?.get(second.target)))
        continue;
      const where = sameTarget
        ? `target '${first.target}'`
        : `targets '${first.target}' and '${second.target}' if a process matches both`;
      overlaps.push({
        first: first.id,
        second: second.id,
        sameTarget,
        message: `rules ${describe(first)} and ${describe(second)} can act on the same process (${where}); when both fire in one cycle, ${first.id} comes first in the file and wins`,
      });
    }
  }
  return overlaps;
}
