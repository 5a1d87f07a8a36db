/**
 * Scenario 5: two rules that both match a process must not both act on it destructively in the
 * same cycle (a `restart` and a `signal KILL` together are worse than either). The first claim
 * in a cycle wins; the daemon evaluates rules in the order the config file lists them, so that
 * order is the precedence, as with process-exporter's first match.
 *
 * The OOM guard is above that order: it holds its victim from its decision until its chain has
 * ended, whatever the cycle. Its own steps pass (a chain's steps are meant to follow each other,
 * each re-measured first), even on a process a rule claimed this cycle: an emergency is not
 * held back by a rule's action. Every rule's destructive action on the held process is refused
 * meanwhile, so the two never double up.
 */
export class OverlapGuard {
  private cycle: number | undefined;
  /** Identity key → the rule that claimed it this cycle. */
  private readonly claims = new Map<string, string>();
  /** Identity key → who holds it across cycles (the guard's victim while its chain runs). */
  private readonly holds = new Map<string, string>();

  /**
   * Claims a process for a destructive action; returns who already holds it, if any, and
   * whether that is a hold across cycles rather than this cycle's claim.
   */
  claim(cycle: number, identityKey: string, rule: string): { holder: string; held: boolean } | undefined {
    const held = this.holds.get(identityKey);
    if (held !== undefined) return held === rule ? undefined : { holder: held, held: true };
    if (cycle !== this.cycle) {
      this.cycle = cycle;
      this.claims.clear();
    }
    const holder = this.claims.get(identityKey);
    if (holder !== undefined) return { holder, held: false };
    this.claims.set(identityKey, rule);
    return undefined;
  }

  /** Whether `rule` holds the process: its actions then pass every claim and go first in line. */
  isHeldBy(identityKey: string, rule: string): boolean {
    return this.holds.get(identityKey) === rule;
  }

  /** Holds a process for `holder` until the returned release is called. */
  hold(identityKey: string, holder: string): () => void {
    this.holds.set(identityKey, holder);
    return () => {
      if (this.holds.get(identityKey) === holder) this.holds.delete(identityKey);
    };
  }
}
