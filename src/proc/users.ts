import { readFileSync } from 'node:fs';

let byUid: Map<number, string> | undefined;

/** The user name for a uid from /etc/passwd (read once), or the uid as text when unknown. */
export function userName(uid: number): string {
  if (byUid === undefined) {
    byUid = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined && !byUid.has(Number(id))) byUid.set(Number(id), name);
      }
    } catch {
      // No passwd file (a minimal container): numeric uids only.
    }
  }
  return byUid.get(uid) ?? String(uid);
}

/** A uid for a user name or numeric string, or undefined when neither. */
export function uidOf(user: string): number | undefined {
  if (/^\d+$/.test(user)) return Number(user);
  userName(0);
  for (const [uid, name] of byUid ?? []) if (name === user) return uid;
  return undefined;
}
