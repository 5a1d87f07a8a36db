import { readlinkSync } from 'node:fs';
import { MemwardenError } from '../errors.js';
import {
  type ProcessIdentity,
  type ProcessRecord,
  ProcReader,
  readAllBytes,
  readAllText,
} from '../proc/index.js';

/** Longest /proc/<pid>/maps read: thousands of mappings, bounded against a pathological one. */
const MAPS_CAP_BYTES = 8 * 1024 * 1024;
/** A process's environment is bounded by the exec limits (a quarter of an 8 MiB stack by default). */
export const ENVIRON_CAP_BYTES = 4 * 1024 * 1024;

/** identity() always reads afresh, so one reader serves every check. */
const identityReader = new ProcReader();

/** A fresh read of a process, never through a kept fd: what is true right now. */
export function readNow(pid: number): ProcessRecord | undefined {
  const reader = new ProcReader();
  try {
    return reader.read(pid);
  } finally {
    reader.close();
  }
}

/**
 * Refuses what no runtime operation may touch: ourselves, init, kernel threads, zombies,
 * stopped or already-traced processes, and a pid that now names another process than the one
 * the caller decided about. Returns the process as read now.
 */
export function checkTarget(pid: number, expect?: ProcessIdentity): ProcessRecord {
  if (!Number.isInteger(pid) || pid <= 0) throw new MemwardenError('MW_USAGE', `not a pid: ${pid}`);
  if (pid === process.pid) throw new MemwardenError('MW_PROTECTED', `pid ${pid} is memwarden itself`);
  if (pid === 1) throw new MemwardenError('MW_PROTECTED', 'pid 1 (init) is never a target');
  const record = readNow(pid);
  if (!record) throw new MemwardenError('MW_NO_PROCESS', `no process ${pid}`);
  if (expect && expect.startTicks !== record.startTicks) {
    throw new MemwardenError('MW_PID_REUSED', `pid ${pid} was reused: it is no longer the process it was`);
  }
  if (record.kernelThread) throw new MemwardenError('MW_PROTECTED', `pid ${pid} is a kernel thread`);
  if (record.state === 'Z' || record.state === 'X') {
    throw new MemwardenError('MW_PROTECTED', `pid ${pid} is a zombie: it runs no code any more`);
  }
  if (record.state === 'T' || record.state === 't') {
    throw new MemwardenError(
      'MW_PROTECTED',
      `pid ${pid} is stopped (state ${record.state}): an injection would resume it or hang`,
    );
  }
  const tracer = tracerPid(pid);
  if (tracer !== undefined && tracer !== 0) {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is already being traced by pid ${tracer}`);
  }
  return record;
}

/** Throws unless `pid` still is the process `identity` names. */
export function recheckIdentity(identity: ProcessIdentity): void {
  const now = identityReader.identity(identity.pid);
  if (!now) throw new MemwardenError('MW_NO_PROCESS', `pid ${identity.pid} exited`);
  if (now.startTicks !== identity.startTicks) {
    throw new MemwardenError(
      'MW_PID_REUSED',
      `pid ${identity.pid} was reused: it is no longer the same process`,
    );
  }
}

/** The process's one-letter state now, or undefined when it is gone. */
export function stateOf(pid: number): string | undefined {
  return readNow(pid)?.state;
}

export function rssOf(pid: number): number | undefined {
  return readNow(pid)?.rss;
}

/** TracerPid from /proc/<pid>/status: 0 untraced, undefined when unreadable. */
export function tracerPid(pid: number): number | undefined {
  const status = statusField(pid, 'TracerPid');
  return status === undefined ? undefined : Number(status);
}

function statusField(pid: number, name: string): string | undefined {
  const text = readAllText(`/proc/${pid}/status`, 64 * 1024);
  if (typeof text !== 'string') return undefined;
  const match = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
  return match?.[1]?.trim();
}

/** The executable's path, without the " (deleted)" the kernel appends; undefined when denied or gone. */
export function exePath(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** The distinct files mapped into a process (libraries, the executable); undefined when denied or gone. */
export function mappedFiles(pid: number): string[] | undefined {
  const text = readAllText(`/proc/${pid}/maps`, MAPS_CAP_BYTES);
  if (typeof text !== 'string') return undefined;
  const files = new Set<string>();
  for (const line of text.split('\n')) {
    // address perms offset dev inode path: the path is whatever follows the fifth field.
    const match = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*)$/.exec(line);
    if (match?.[1]) files.add(match[1].replace(/ \(deleted\)$/, ''));
  }
  return [...files];
}

/** The environment the process started with; undefined when denied or gone. */
export function environOf(pid: number): Map<string, string> | undefined {
  const buffer = readAllBytes(`/proc/${pid}/environ`, ENVIRON_CAP_BYTES);
  if (!Buffer.isBuffer(buffer)) return undefined;
  const env = new Map<string, string>();
  for (const entry of buffer.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

const busy = new Set<number>();

/**
 * Runs `operation` as the only runtime operation on `pid` at a time: two debuggers cannot both
 * attach, and two collections at once only make each other's figures wrong.
 */
export async function exclusively<T>(pid: number, operation: () => Promise<T>): Promise<T> {
  if (busy.has(pid))
    throw new MemwardenError('MW_FAILED', `another runtime operation on pid ${pid} is in progress`);
  busy.add(pid);
  try {
    return await operation();
  } finally {
    busy.delete(pid);
  }
}
