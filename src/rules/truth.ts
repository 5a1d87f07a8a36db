import type { Clause, CompareClause, Condition } from './condition.js';

export type Truth = 'true' | 'false' | 'unknown';

export type ClauseValue = number | boolean | undefined;

function compare(value: number, op: CompareClause['op'], threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
  }
}

/** Whether one clause holds; with a margin, its threshold is moved back by that fraction. */
function holds(clause: Clause, value: number | boolean, margin: number): boolean {
  if (clause.kind !== 'compare' || typeof value === 'boolean') return value === true;
  if (clause.op === '>' || clause.op === '>=')
    return compare(value, clause.op, clause.threshold * (1 - margin));
  if (clause.op === '<' || clause.op === '<=')
    return compare(value, clause.op, clause.threshold * (1 + margin));
  return compare(value, clause.op, clause.threshold);
}

/**
 * Whether a condition holds for the values of its clauses (in clause order): one alternative
 * (`or`) whose clauses all hold (`and`) is enough. With a margin, thresholds are moved back by
 * that fraction: the test a firing rule must fail before it counts as clear. An unknown value
 * is never a reason to fire nor to resolve: an alternative with one is unknown unless another
 * of its clauses is false.
 */
export function conditionTruth(condition: Condition, values: readonly ClauseValue[], margin = 0): Truth {
  const { clauses } = condition;
  const starts = [0, ...(condition.or ?? []), clauses.length];
  let unknown = false;
  for (let g = 0; g + 1 < starts.length; g++) {
    let group: Truth = 'true';
    for (let i = starts[g] ?? 0; i < (starts[g + 1] ?? 0); i++) {
      const clause = clauses[i];
      const value = values[i];
      if (clause === undefined || value === undefined) {
        group = 'unknown';
        continue;
      }
      if (!holds(clause, value, margin)) {
        group = 'false';
        break;
      }
    }
    if (group === 'true') return 'true';
    if (group === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : 'false';
}
