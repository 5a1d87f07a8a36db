import { existsSync, readdirSync } from 'node:fs';
import { readText } from './files.js';
import { type Pressure, readPressure } from './pressure.js';
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

/**
 * A cgroup's own memory, given its path and hierarchy: what it uses, the limit that applies to
 * it (its own or the nearest ancestor's), and on v2 its `memory.pressure`. A version left unknown
 * is looked for in v1's memory controller first. Undefined when the cgroup is not there.
 */
export function readOwnCgroup(
  path: string,
  version: 'v1' | 'v2' | undefined,
  sysfs = '/sys/fs/cgroup',
): (CgroupInfo & { pressure?: Pressure }) | undefined {
  const inside = path === '/' ? '' : path;
  if (version !== 'v2') {
    const inV1 = existsSync(`${sysfs}/memory${inside}`);
    if (inV1) return readCgroupMemory({ memoryV1: path }, sysfs);
    if (version === 'v1') return undefined;
  }
  const mount = unifiedMount(sysfs);
  const dir = `${mount}${inside}`;
  if (!existsSync(dir)) return undefined;
  const info: CgroupInfo & { pressure?: Pressure } = walk(path, mount, 'memory.max', 'memory.current');
  const pressure = readPressure(`${dir}/memory.pressure`);
  if (pressure !== undefined) info.pressure = pressure;
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

/** A memory cgroup as the guard sees it: its limit, what it uses, its pressure and its processes. */
export interface CgroupScope {
  /** `v1` (memory.limit_in_bytes) or `v2` (memory.max, or memory.pressure alone). */
  version: 'v1' | 'v2';
  limitBytes?: number;
  usageBytes?: number;
  /** The cgroup's own `memory.pressure` (cgroup v2 only). */
  pressure?: Pressure;
  /** The processes of the cgroup and of its descendants. */
  pids: number[];
}

/** Descendant cgroups read at most, so that a deep or huge tree cannot stall a tick. */
const MAX_CGROUP_DIRS = 256;

/**
 * Whether a cgroup directory has its own `memory.pressure`: every cgroup v2 group has one where
 * the kernel keeps PSI, with or without the memory controller (a hybrid host's `unified` tree
 * has none of that controller and still keeps each group's stalls); v1 groups never do.
 */
export function cgroupPressureFile(dir: string): boolean {
  return existsSync(`${dir}/memory.pressure`) && !existsSync(`${dir}/memory.limit_in_bytes`);
}

/**
 * Reads a memory cgroup given by its directory (`/sys/fs/cgroup/memory/app` on v1,
 * `/sys/fs/cgroup/app.slice` on v2). A v2 group without the memory controller has no limit or
 * usage but still its pressure. Undefined when the directory is neither.
 */
export function readCgroupScope(dir: string): CgroupScope | undefined {
  const v1 = existsSync(`${dir}/memory.limit_in_bytes`);
  // Not v1: a v2 group is one by its memory.max, or by its memory.pressure alone.
  if (!v1 && !existsSync(`${dir}/memory.max`) && !existsSync(`${dir}/memory.pressure`)) return undefined;
  const scope: CgroupScope = { version: v1 ? 'v1' : 'v2', pids: [] };
  const limit = readNumber(`${dir}/${v1 ? 'memory.limit_in_bytes' : 'memory.max'}`);
  if (limit !== undefined && limit < V1_UNLIMITED) scope.limitBytes = limit;
  const usage = readNumber(`${dir}/${v1 ? 'memory.usage_in_bytes' : 'memory.current'}`);
  if (usage !== undefined) scope.usageBytes = usage;
  if (!v1) {
    const pressure = readPressure(`${dir}/memory.pressure`);
    if (pressure) scope.pressure = pressure;
  }
  const dirs = [dir];
  for (let i = 0; i < dirs.length && i < MAX_CGROUP_DIRS; i++) {
    const current = dirs[i] as string;
    const procs = readText(`${current}/cgroup.procs`, 256 * 1024);
    if (typeof procs === 'string')
      for (const line of procs.split('\n')) if (line !== '') scope.pids.push(Number(line));
    try {
      for (const entry of readdirSync(current, { withFileTypes: true }))
        if (entry.isDirectory()) dirs.push(`${current}/${entry.name}`);
    } catch {
      // removed while being read
    }
  }
  return scope;
}
