import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { errnoCode, MemwardenError } from './errors.js';

/**
 * One rule for every file memwarden writes where it was told to (--store, --log, report -o):
 * the directory must exist already. A typo in a path then fails in one line instead of
 * growing a directory tree somewhere (as root, anywhere). Only memwarden's own default
 * location ($XDG_STATE_HOME/memwarden) is created.
 */
export function requireParentDirectory(path: string, what: string): void {
  const dir = dirname(resolve(path));
  try {
    if (statSync(dir).isDirectory()) return;
    throw new MemwardenError('MW_USAGE', `cannot write the ${what} ${path}: ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof MemwardenError) throw err;
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be used (${code ?? String(err)})`;
    throw new MemwardenError('MW_USAGE', `cannot write the ${what} ${path}: the directory ${dir} ${why}`);
  }
}
