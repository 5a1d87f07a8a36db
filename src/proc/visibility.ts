import { readFileSync } from 'node:fs';
import { readText } from './files.js';

/** proc(5)'s hidepid values, by the names newer kernels print (older ones print 0, 1, 2, 4). */
export type HidePid = 'off' | 'noaccess' | 'invisible' | 'ptraceable';

const HIDEPID_NAMES: Record<string, HidePid> = {
  '0': 'off',
  off: 'off',
  '1': 'noaccess',
  noaccess: 'noaccess',
  '2': 'invisible',
  invisible: 'invisible',
  '4': 'ptraceable',
  ptraceable: 'ptraceable',
};

export interface ProcVisibility {
  hidepid: HidePid;
  /** The `gid=` group whose members see everything anyway. */
  gid?: number;
  /** Whether this process is kept from other users' processes (not root, not in that group). */
  restricted: boolean;
}

/**
 * How the procfs at `mountPoint` is mounted, from this process's own mountinfo (so a mount
 * namespace is seen as it is). The last proc mount on that point is the one in force.
 */
export function procVisibility(mountPoint = '/proc'): ProcVisibility {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return { hidepid: 'off', restricted: false };
  }
  let options: string | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0 || fields[4] !== mountPoint || fields[dash + 1] !== 'proc') continue;
    options = fields[dash + 3];
  }
  let hidepid: HidePid = 'off';
  let gid: number | undefined;
  for (const option of (options ?? '').split(',')) {
    const [key, value = ''] = option.split('=');
    if (key === 'hidepid') hidepid = HIDEPID_NAMES[value] ?? 'invisible';
    if (key === 'gid' && /^\d+$/.test(value)) gid = Number(value);
  }
  const inGroup =
    gid !== undefined && (process.getegid?.() === gid || (process.getgroups?.() ?? []).includes(gid));
  const restricted = hidepid !== 'off' && process.geteuid?.() !== 0 && !inGroup;
  return gid === undefined ? { hidepid, restricted } : { hidepid, gid, restricted };
}

/** Threads on the whole machine (`/proc/loadavg`'s fourth field, which hidepid does not hide). */
export function threadsOnMachine(root = '/proc'): number | undefined {
  const text = readText(`${root}/loadavg`);
  if (typeof text !== 'string') return undefined;
  const total = Number(/\d+\/(\d+)/.exec(text)?.[1]);
  return Number.isFinite(total) ? total : undefined;
}
