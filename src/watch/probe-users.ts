/**
 * Whose processes the runtime actions (gc, snapshot, trim) may open up. While memwarden holds a
 * Node inspector open, any local user can run code in that process (Node accepts every
 * connection, see the README), so opening a process up lends its uid to everyone on the host
 * for that moment. Without `probe_users`, memwarden opens up only processes of its own uid,
 * and as root none at all: root's processes, and every other user's, are opt-in.
 */
export interface ProbePolicy {
  uids: readonly number[];
  /** True when the config lists the users; false for the default. */
  listed: boolean;
  ownUid: number;
}

export function probePolicy(listed: readonly number[] | undefined, ownUid: number): ProbePolicy {
  if (listed) return { uids: listed, listed: true, ownUid };
  return { uids: ownUid === 0 ? [] : [ownUid], listed: false, ownUid };
}

/** Why a process of `uid` is refused, in words that say how to allow it. */
export function refusalReason(policy: ProbePolicy, uid: number): string {
  if (policy.listed) return `probe_users allows uids ${policy.uids.join(', ') || '(none)'}`;
  if (policy.ownUid === 0) {
    return 'memwarden runs as root and probe_users is not set, so it opens up no process (list the users whose processes may be opened in probe_users)';
  }
  return `memwarden runs as uid ${policy.ownUid} and opens up only its own processes unless probe_users lists uid ${uid}`;
}
