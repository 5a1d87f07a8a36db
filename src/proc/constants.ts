import { readFileSync } from 'node:fs';
import { readKernelStat } from './system.js';

/**
 * USER_HZ: the unit of every tick count in /proc. It is 100 on every Linux ABI (the kernel
 * converts to it whatever CONFIG_HZ is), so it is a constant rather than a sysconf call.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

const bootTimes = new Map<string, number>();

/** Boot time in seconds since the epoch, per procfs root (read once: it does not move). */
export function bootTimeSeconds(root = '/proc'): number {
  let value = bootTimes.get(root);
  if (value === undefined) {
    value = readKernelStat(root).bootTimeSeconds;
    bootTimes.set(root, value);
  }
  return value;
}

let pageSize: number | undefined;

/**
 * The page size, derived from Node's own RSS (which libuv computes as stat's rss pages × the
 * page size) against our stat's rss, since Node offers no sysconf. Rounded to a power of two.
 */
export function pageSizeBytes(): number {
  if (pageSize === undefined) {
    const text = readFileSync('/proc/self/stat', 'latin1');
    const rssPages = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[21]);
    const rssBytes = process.memoryUsage.rss();
    const ratio = rssPages > 0 ? rssBytes / rssPages : 4096;
    pageSize = 2 ** Math.round(Math.log2(ratio));
  }
  return pageSize;
}

let openFileLimit: number | undefined;

/** The soft RLIMIT_NOFILE of this process. */
export function openFileSoftLimit(): number {
  if (openFileLimit === undefined) {
    openFileLimit = 1024;
    try {
      const line = readFileSync('/proc/self/limits', 'latin1')
        .split('\n')
        .find((l) => l.startsWith('Max open files'));
      const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
      if (Number.isFinite(soft) && soft > 0) openFileLimit = soft;
    } catch {
      // keep the conservative default
    }
  }
  return openFileLimit;
}
