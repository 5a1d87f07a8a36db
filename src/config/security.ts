import { realpathSync, type Stats, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const S_ISVTX = 0o1000;

function mode(stats: Stats): string {
  return (stats.mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Who other than `uid` and root could write this entry, or undefined. Group write counts
 * unless the group is root's own (gid 0): any member of another group could change it.
 */
function othersMayWrite(stats: Stats, uid: number): string | undefined {
  if (stats.uid !== uid && stats.uid !== 0) return `is owned by uid ${stats.uid}`;
  if ((stats.mode & 0o002) !== 0) return `is writable by every user (mode ${mode(stats)})`;
  if ((stats.mode & 0o020) !== 0 && stats.gid !== 0)
    return `is writable by group ${stats.gid} (mode ${mode(stats)})`;
  return undefined;
}

/**
 * The directories `path` is reached through, from its own up to `/`: whoever can write one of
 * them can rename the next entry away and put their own in its place.
 */
function ancestors(path: string): string[] {
  const out: string[] = [];
  let dir = dirname(path);
  for (;;) {
    out.push(dir);
    const up = dirname(dir);
    if (up === dir) return out;
    dir = up;
  }
}

/**
 * Why a config file is unsafe for a root watcher to trust, or undefined (scenario 3). The file
 * holds commands memwarden runs and webhook URLs with tokens, so anyone who can change it can
 * run code as root. As sshd does for its keys, the file and every directory above it (both
 * along the path given and along the real one, symlinks resolved) must belong to root or to
 * the user memwarden runs as, and be writable by no one else: not by every user, not by a
 * group other than root's. A sticky directory (`/tmp`) is the one exception for write by
 * others: there nobody can rename an entry they do not own, and the entry below it is checked.
 */
export function configFileInsecurity(path: string, uid: number): string | undefined {
  if (uid !== 0) return undefined;
  const real = realpathSync(path);
  const file = statSync(real);
  if ((file.mode & 0o002) !== 0) return `${real} is writable by every user (mode ${mode(file)})`;
  if (file.uid !== uid)
    return `${real} is owned by uid ${file.uid}, not by the user memwarden runs as (${uid})`;
  const fileProblem = othersMayWrite(file, uid);
  if (fileProblem !== undefined) return `${real} ${fileProblem}`;
  for (const dir of new Set([...ancestors(real), ...ancestors(resolve(path))])) {
    const stats = statSync(dir);
    const problem = othersMayWrite(stats, uid);
    if (problem === undefined) continue;
    if (problem.startsWith('is owned') || (stats.mode & S_ISVTX) === 0)
      return `${real} is reached through ${dir}, which ${problem}`;
  }
  return undefined;
}
