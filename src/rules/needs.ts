import { DEFAULT_GROWTH_WINDOW_MS } from './condition.js';
import type { RuleSpec } from './rule.js';

/**
 * What a set of rules asks for beyond a plain sample, each costly enough to be done only when a
 * rule reads it: PSS (a read of smaps_rollup per process), a trend verdict (a series kept per
 * process), growth (a thinned RSS history per process of the targets that ask).
 */
export interface RuleNeeds {
  /**
   * The targets with a rule that reads `pss`, `total.pss` or `total.uss` (all from smaps_rollup):
   * only their processes need it read.
   */
  pssTargets: Set<string>;
  /** A rule reads `leak` or `oom_in`. */
  trends: boolean;
  /** The longest window a `growth` clause looks over; 0 without one. */
  growthWindowMs: number;
  /** The targets whose rules read `growth`. */
  growthTargets: Set<string>;
}

/** Scans the rules' clauses once for what they need. */
export function ruleNeeds(rules: readonly RuleSpec[]): RuleNeeds {
  const needs: RuleNeeds = {
    pssTargets: new Set(),
    trends: false,
    growthWindowMs: 0,
    growthTargets: new Set(),
  };
  for (const rule of rules) {
    for (const clause of rule.when.clauses) {
      if (clause.kind === 'leak') needs.trends = true;
      if (clause.kind !== 'compare') continue;
      if (clause.metric === 'pss' || clause.metric === 'total.pss' || clause.metric === 'total.uss') {
        needs.pssTargets.add(rule.target);
      } else if (clause.metric === 'oom_in') needs.trends = true;
      else if (clause.metric === 'growth') {
        needs.growthWindowMs = Math.max(needs.growthWindowMs, clause.overMs ?? DEFAULT_GROWTH_WINDOW_MS);
        needs.growthTargets.add(rule.target);
      }
    }
  }
  return needs;
}
