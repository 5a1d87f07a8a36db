import { readOnce, readText } from './files.js';
import { parseStat } from './stat.js';

/** Who a process runs as: real, effective, saved and filesystem ids, from /proc/<pid>/status. */
export interface ProcessCredentials {
  pid: number;
  startTicks: number;
  uids: [real: number, effective: number, saved: number, fs: number];
  gids: [real: number, effective: number, saved: number, fs: number];
}

function startTicksOf(path: string): number | undefined {
  const buffer = Buffer.allocUnsafe(4096);
  const read = readOnce(path, buffer);
  return read.ok ? parseStat(buffer, read.bytes)?.startTicks : undefined;
}

function idLine(status: string, name: 'Uid' | 'Gid'): ProcessCredentials['uids'] | undefined {
  const m = new RegExp(`^${name}:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(status);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

/**
 * A process's ids, vouched for by its start time read before and after the status file: a pid
 * reused in between shows another start time, and the read is refused (undefined) as for a
 * process that is gone or unreadable.
 */
export function readCredentials(pid: number, root = '/proc'): ProcessCredentials | undefined {
  const before = startTicksOf(`${root}/${pid}/stat`);
  if (before === undefined) return undefined;
  const status = readText(`${root}/${pid}/status`);
  const after = startTicksOf(`${root}/${pid}/stat`);
  if (typeof status !== 'string' || after !== before) return undefined;
  const uids = idLine(status, 'Uid');
  const gids = idLine(status, 'Gid');
  if (!uids || !gids) return undefined;
  return { pid, startTicks: before, uids, gids };
}
