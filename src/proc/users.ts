import { readFileSync } from 'node:fs';

interface Account {
  uid: number;
  /** The primary group, from /etc/passwd. */
  gid: number;
}

let byUid: Map<number, string> | undefined;
let accounts: Map<string, Account> | undefined;

function loadPasswd(): void {
  if (byUid !== undefined) return;
  byUid = new Map();
  accounts = new Map();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id, group] = line.split(':');
      if (!name || id === undefined) continue;
      if (!byUid.has(Number(id))) byUid.set(Number(id), name);
      if (!accounts.has(name)) accounts.set(name, { uid: Number(id), gid: Number(group) });
    }
  } catch {
    // No passwd file (a minimal container): numeric uids only.
  }
}

/** The user name for a uid from /etc/passwd (read once), or the uid as text when unknown. */
export function userName(uid: number): string {
  loadPasswd();
  return byUid?.get(uid) ?? String(uid);
}

/** A uid for a user name or numeric string, or undefined when neither. */
export function uidOf(user: string): number | undefined {
  if (/^\d+$/.test(user)) return Number(user);
  loadPasswd();
  return accounts?.get(user)?.uid;
}

/** A gid for a group name (from /etc/group) or numeric string, or undefined when neither. */
export function gidOf(group: string): number | undefined {
  if (/^\d+$/.test(group)) return Number(group);
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name === group && id !== undefined) return Number(id);
    }
  } catch {
    // No group file: numeric gids only.
  }
  return undefined;
}

/**
 * The uid and gid a command runs as for `user` (a name or uid) and an optional `group`, or why
 * not. Without a group, the user's primary group from /etc/passwd; a bare uid that has no
 * passwd entry needs an explicit group.
 */
export function accountOf(user: string, group?: string): Account | string {
  const uid = uidOf(user);
  if (uid === undefined) return `unknown user '${user}'`;
  if (group !== undefined) {
    const gid = gidOf(group);
    return gid === undefined ? `unknown group '${group}'` : { uid, gid };
  }
  loadPasswd();
  const primary = [...(accounts?.values() ?? [])].find((a) => a.uid === uid)?.gid;
  if (primary === undefined || !Number.isInteger(primary))
    return `uid ${uid} has no entry in /etc/passwd to take its group from; give group: as well`;
  return { uid, gid: primary };
}
