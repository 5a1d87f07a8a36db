import { readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';

/** What a supervisor keeps across watcher restarts. Times are wall-clock: a monotonic one dies with the process. */
export interface PersistedSupervisorState {
  version: 1;
  name: string;
  /** Wall-clock ms of each restart still inside the window when saved. */
  restartWallMs: number[];
  gaveUp: boolean;
  /** The process it had started, left running when the watcher stopped: the next one follows it. */
  child?: { pid: number; startTicks: number };
}

/** Where a target's state lives: its name is encoded so that no name can leave the directory. */
export function statePath(dir: string, name: string): string {
  return join(dir, `supervisor-${encodeURIComponent(name).replace(/\./g, '%2E')}.json`);
}

/**
 * Reads a saved state, or undefined when there is none. A file that does not parse is reported
 * as an error string, and the caller starts afresh: losing counters is better than refusing to
 * supervise.
 */
export function loadState(path: string, name: string): PersistedSupervisorState | string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    return `cannot read ${path}: ${errnoCode(err) ?? String(err)}`;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return `${path} is not JSON`;
  }
  // parse boundary: validated field by field below
  const d = data as Partial<Record<keyof PersistedSupervisorState, unknown>>;
  if (
    typeof data !== 'object' ||
    data === null ||
    d.version !== 1 ||
    d.name !== name ||
    !Array.isArray(d.restartWallMs) ||
    !d.restartWallMs.every((t) => typeof t === 'number' && Number.isFinite(t)) ||
    typeof d.gaveUp !== 'boolean'
  ) {
    return `${path} does not hold a supervisor state for ${name}`;
  }
  const state: PersistedSupervisorState = {
    version: 1,
    name,
    restartWallMs: d.restartWallMs as number[],
    gaveUp: d.gaveUp,
  };
  const child = d.child as { pid?: unknown; startTicks?: unknown } | undefined;
  if (typeof child?.pid === 'number' && typeof child.startTicks === 'number') {
    state.child = { pid: child.pid, startTicks: child.startTicks };
  }
  return state;
}

/**
 * Replaces the state file atomically: a reader (or a watcher starting after a crash) sees the old
 * file or the new one, never half of one. Temp file, fsync, rename, then fsync of the directory
 * so the rename itself survives a power cut. Mode 0600: it says what runs here.
 */
export async function saveState(path: string, state: PersistedSupervisorState): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  const file = await open(temp, 'w', 0o600);
  try {
    // a temp file left by a crash keeps its old mode through open(); set it again
    await file.chmod(0o600);
    await file.writeFile(`${JSON.stringify(state)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const dir = await open(join(path, '..'), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
