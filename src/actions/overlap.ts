/**
 * Scenario 5: two rules that both match a process must not both act on it destructively in the
 * same cycle (a `restart` and a `signal KILL` together are worse than either). The first claim
 * in a cycle wins; the daemon evaluates rules in the order the config file lists them, so that
 * order is the precedence, as with process-exporter's first match.
 */
export class OverlapGuard {
  private cycle: number | undefined;
  /** Identity key → the rule that claimed it this cycle. */
  private readonly claims = new Map<string, string>();

  /** Claims a process for a destructive action; returns the rule that already holds it, if any. */
  claim(cycle: number, identityKey: string, rule: string): string | undefined {
    if (cycle !== this.cycle) {
      this.cycle = cycle;
      this.claims.clear();
    }
    const holder = this.claims.get(identityKey);
    if (holder !== undefined) return holder;
    this.claims.set(identityKey, rule);
    return undefined;
  }
}
