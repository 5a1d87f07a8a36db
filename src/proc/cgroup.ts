import { existsSync } from 'node:fs';
import { readText } from './files.js';
import type { CgroupInfo } from './types.js';

/** cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value. */
const V1_UNLIMITED = 2 ** 62;

export interface CgroupPaths {
  /** Path of the process's cgroup v2 (unified) cgroup, if any. */
  unified?: string;
  /** Path within the v1 memory controller, if that controller is mounted in v1 mode. */
  memoryV1?: string;
}

/** Parses `/proc/<pid>/cgroup` (`id:controllers:path` lines). */
export function parseCgroupFile(text: string): CgroupPaths {
  const paths: CgroupPaths = {};
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.startsWith('0::')) paths.unified = path;
    else if (controllers.split(',').includes('memory')) paths.memoryV1 = path;
  }
  return paths;
}

function readNumber(path: string): number | undefined {
  const text = readText(path, 128);
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed === 'max' || trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Memory limit and usage of a cgroup: cgroup v2 `memory.max`/`memory.current`, or on hosts whose
 * memory controller is still v1 (hybrid mode), `memory.limit_in_bytes`/`memory.usage_in_bytes`.
 * The nearest limit up the tree applies, so parents are walked until one is found.
 */
export function readCgroupMemory(paths: CgroupPaths, sysfs = '/sys/fs/cgroup'): CgroupInfo | undefined {
  if (paths.memoryV1 !== undefined) {
    return walk(paths.memoryV1, `${sysfs}/memory`, 'memory.limit_in_bytes', 'memory.usage_in_bytes');
  }
  if (paths.unified !== undefined) {
    return walk(paths.unified, sysfs, 'memory.max', 'memory.current');
  }
  return undefined;
}

function walk(path: string, mount: string, limitFile: string, usageFile: string): CgroupInfo {
  const info: CgroupInfo = { path };
  const current = readNumber(`${mount}${path === '/' ? '' : path}/${usageFile}`);
  if (current !== undefined) info.currentBytes = current;
  let dir = path;
  for (;;) {
    const limit = readNumber(`${mount}${dir === '/' ? '' : dir}/${limitFile}`);
    if (limit !== undefined && limit < V1_UNLIMITED) {
      info.limitBytes = limit;
      break;
    }
    if (dir === '/' || dir === '') break;
    dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  }
  return info;
}

/** Where cgroup v2 is mounted: the root itself on a v2-only host, `unified/` on a hybrid one. */
export function unifiedMount(sysfs = '/sys/fs/cgroup'): string {
  return existsSync(`${sysfs}/unified/cgroup.procs`) ? `${sysfs}/unified` : sysfs;
}

function counterIn(text: string, key: string): number | undefined {
  const m = new RegExp(`(?:^|\\n)${key} (\\d+)`).exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * How many processes the kernel's OOM killer has killed in a memory cgroup: the `oom_kill` line
 * of v1 `memory.oom_control` or of v2 `memory.events` (which counts the cgroup's descendants too).
 * Undefined when the file is not there (no memory controller) or the kernel is older than 4.13.
 */
export function readCgroupOomKills(paths: CgroupPaths, sysfs = '/sys/fs/cgroup'): number | undefined {
  const file =
    paths.memoryV1 !== undefined
      ? `${sysfs}/memory${paths.memoryV1 === '/' ? '' : paths.memoryV1}/memory.oom_control`
      : paths.unified !== undefined && paths.unified !== '/'
        ? `${unifiedMount(sysfs)}${paths.unified}/memory.events`
        : undefined;
  if (file === undefined) return undefined;
  const text = readText(file, 1024);
  return typeof text === 'string' ? counterIn(text, 'oom_kill') : undefined;
}
