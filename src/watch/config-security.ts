import { realpathSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

function worldWritable(path: string): boolean {
  return (statSync(path).mode & 0o002) !== 0;
}

/**
 * Why a config file is unsafe for a root watcher to trust, or undefined (scenario 3). The file
 * holds commands memwarden runs and webhook URLs with tokens, so anyone who can change it can
 * run code as root. Checked: the file is writable by everyone, belongs to another user, or sits
 * in a directory everyone can write to, where it (or a symlink to it) could be swapped.
 */
export function configFileInsecurity(path: string, uid: number): string | undefined {
  if (uid !== 0) return undefined;
  const real = realpathSync(path);
  const file = statSync(real);
  if ((file.mode & 0o002) !== 0) {
    return `${real} is writable by every user (mode ${(file.mode & 0o777).toString(8).padStart(4, '0')})`;
  }
  if (file.uid !== uid)
    return `${real} is owned by uid ${file.uid}, not by the user memwarden runs as (${uid})`;
  for (const dir of new Set([dirname(real), dirname(resolve(path))])) {
    if (worldWritable(dir)) return `${real} is reached through ${dir}, which every user can write to`;
  }
  return undefined;
}
