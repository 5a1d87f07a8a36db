import { identityKey, type ProcessIdentity } from '../proc/index.js';
import type { RememberedFiring, RuleMemory } from '../rules/index.js';
import type { GroupRuleFiringRecord, RuleFiringRecord, Store } from '../store/index.js';

/** An escalation chain's key: the rule's and the process's. */
export function chainKey(ruleKey: string, identity: ProcessIdentity): string {
  return `${ruleKey}:${identityKey(identity)}`;
}

/** A group rule's escalation chain's key: the rule's and the target's. */
export function groupChainKey(ruleKey: string, target: string): string {
  return `${ruleKey}:target:${target}`;
}

/**
 * The rule engine's memory in the history file. What the previous watcher left is read once; the
 * firings of processes that are gone since are dropped then, so the table holds live ones only,
 * and so are a group rule's firings when no rule has its key any more (it was edited or removed).
 */
export class StoredRuleMemory implements RuleMemory {
  private readonly remembered = new Map<string, RuleFiringRecord[]>();
  /** Chains of firings still on that a previous watcher left before their end. */
  private readonly chains = new Map<string, number>();

  private readonly groupRemembered = new Map<string, GroupRuleFiringRecord[]>();

  constructor(
    private readonly store: Store,
    isAlive: (identity: ProcessIdentity) => boolean,
    groupRuleKeys: ReadonlySet<string>,
    private readonly wallMs: () => number = Date.now,
  ) {
    for (const record of store.groupRuleFirings()) {
      if (!groupRuleKeys.has(record.ruleKey)) {
        store.forgetGroupRuleFirings(record.ruleKey);
        continue;
      }
      if (record.firing && record.chainStep !== undefined)
        this.chains.set(groupChainKey(record.ruleKey, record.target), record.chainStep);
      const list = this.groupRemembered.get(record.target);
      if (list) list.push(record);
      else this.groupRemembered.set(record.target, [record]);
    }
    for (const record of store.ruleFirings()) {
      if (!isAlive(record)) {
        store.forgetRuleFirings(record.pid, record.startTicks);
        continue;
      }
      const key = identityKey(record);
      if (record.firing && record.chainStep !== undefined) {
        this.chains.set(chainKey(record.ruleKey, record), record.chainStep);
      }
      const list = this.remembered.get(key);
      if (list) list.push(record);
      else this.remembered.set(key, [record]);
    }
  }

  /**
   * `chainKey(ruleKey, identity)` (or `groupChainKey(ruleKey, target)`) → the next step, for every
   * escalation chain of a live firing that a previous watcher saved progress for (a finished
   * chain's next step is its length).
   */
  unfinishedChains(): Map<string, number> {
    return new Map(this.chains);
  }

  recall(identity: ProcessIdentity): RememberedFiring[] {
    const key = identityKey(identity);
    const records = this.remembered.get(key);
    this.remembered.delete(key);
    return this.since(records);
  }

  recallGroup(target: string): RememberedFiring[] {
    const records = this.groupRemembered.get(target);
    this.groupRemembered.delete(target);
    return this.since(records);
  }

  private since(
    records: readonly (RuleFiringRecord | GroupRuleFiringRecord)[] | undefined,
  ): RememberedFiring[] {
    if (records === undefined) return [];
    const now = this.wallMs();
    // A firing time in the future means the wall clock went back: it counts as just now.
    return records.map((r) => ({
      ruleKey: r.ruleKey,
      agoMs: Math.max(0, now - r.firedAtMs),
      firing: r.firing,
    }));
  }

  firedGroup(ruleKey: string, target: string): void {
    this.store.saveGroupRuleFiring(ruleKey, target, this.wallMs());
  }

  clearedGroup(ruleKey: string, target: string): void {
    this.store.clearGroupRuleFiring(ruleKey, target);
  }

  fired(ruleKey: string, identity: ProcessIdentity): void {
    this.store.saveRuleFiring({ ruleKey, ...identity, firedAtMs: this.wallMs(), firing: true });
  }

  cleared(ruleKey: string, identity: ProcessIdentity): void {
    this.store.clearRuleFiring(ruleKey, identity.pid, identity.startTicks);
  }

  forget(identity: ProcessIdentity): void {
    this.remembered.delete(identityKey(identity));
    this.store.forgetRuleFirings(identity.pid, identity.startTicks);
  }
}
