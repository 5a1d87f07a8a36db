import type { CgroupPaths } from '../proc/index.js';
import type { ProcessFilter } from './filter.js';
import { compileGlob } from './pattern.js';

/**
 * Targets named by where the kernel keeps them: a cgroup path, the systemd unit that path names,
 * or the container whose id the path carries. Everything comes from `/proc/<pid>/cgroup`, so no
 * D-Bus, container daemon or API is asked, and v1 (hybrid) and v2 layouts are read alike.
 */

/** The mount points a user may paste in front of a cgroup path; the path inside is what counts. */
const MOUNT_PREFIX = /^\/sys\/fs\/cgroup(?:\/(?:unified|memory|systemd|cpu,cpuacct|pids))?(?=\/|$)/;

/** `/sys/fs/cgroup/memory/app/` and `app` both name `/app`. */
export function cgroupPathOf(spec: string): string {
  let path = spec.trim().replace(MOUNT_PREFIX, '');
  if (!path.startsWith('/')) path = `/${path}`;
  while (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

function pathsOf(paths: CgroupPaths): string[] {
  const out: string[] = [];
  if (paths.unified !== undefined) out.push(paths.unified);
  if (paths.memoryV1 !== undefined && paths.memoryV1 !== paths.unified) out.push(paths.memoryV1);
  return out;
}

/** `/a/b/c` → `/a/b/c`, `/a/b`, `/a`: a process inside a cgroup's subtree belongs to it. */
function withAncestors(path: string): string[] {
  const out: string[] = [];
  let p = path;
  while (p.length > 1) {
    out.push(p);
    p = p.slice(0, p.lastIndexOf('/')) || '/';
  }
  return out;
}

function isGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** A test for `cgroup:`: the process's cgroup (v2, or v1 memory) is the named one or inside it. */
export function cgroupTest(spec: string): (paths: CgroupPaths) => boolean {
  const wanted = cgroupPathOf(spec);
  if (isGlob(wanted)) {
    const glob = compileGlob(wanted);
    return (paths) => pathsOf(paths).some((p) => withAncestors(p).some((a) => glob.test(a)));
  }
  return (paths) => pathsOf(paths).some((p) => p === wanted || p.startsWith(`${wanted}/`));
}

const UNIT_SUFFIX = /\.(service|scope|slice|socket|mount|swap|timer|target)$/;

/** `redis-server` means `redis-server.service`, as `systemctl` reads it. */
export function unitNameOf(spec: string): string {
  const name = spec.trim();
  return UNIT_SUFFIX.test(name) ? name : `${name}.service`;
}

/** The innermost unit a cgroup path names (`/system.slice/redis.service` → `redis.service`). */
export function unitOf(path: string): string | undefined {
  const parts = path.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (UNIT_SUFFIX.test(part) && !part.endsWith('.slice')) return part;
  }
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (part.endsWith('.slice')) return part;
  }
  return undefined;
}

/** A test for `unit:`: systemd puts a unit's processes in a cgroup named after it, or below it. */
export function unitTest(spec: string): (paths: CgroupPaths) => boolean {
  const unit = unitNameOf(spec);
  return (paths) => pathsOf(paths).some((p) => p.split('/').includes(unit));
}

/**
 * The 64-hex container id in a cgroup path as docker (`/docker/ID`, `docker-ID.scope`), podman
 * (`libpod-ID.scope`), containerd and CRI-O (`cri-containerd-ID.scope`, `crio-ID.scope`,
 * `/kubepods/…/ID`) write it. podman's `libpod-conmon-ID.scope` holds its monitor, not the
 * container, and is not one.
 */
export function containerIdOf(path: string): string | undefined {
  const parts = path.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i] as string;
    if (part.includes('conmon')) continue;
    const m = /(?:^|-)([0-9a-f]{64})(?:\.scope)?$/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/** A test for `container:`: the container id starts with the given prefix (as `docker ps` shortens it). */
export function containerTest(prefix: string): (paths: CgroupPaths) => boolean {
  const wanted = prefix.trim().toLowerCase();
  return (paths) => pathsOf(paths).some((p) => containerIdOf(p)?.startsWith(wanted) === true);
}

/** A target's own cgroup: its path inside the v1 memory controller, or in the v2 hierarchy. */
export interface TargetCgroup {
  path: string;
  /** Unknown for a target with no process, named by a plain path that may be either. */
  version?: 'v1' | 'v2';
}

/**
 * Where a member's path meets the target's name: the named cgroup, the unit's, the container's.
 * Made once per target and call, so a glob is compiled once and not once per member.
 */
function anchorFinder(filter: ProcessFilter): (path: string) => string | undefined {
  const upTo = (path: string, test: (part: string) => boolean) => {
    const parts = path.split('/');
    const i = parts.findIndex(test);
    return i < 0 ? undefined : parts.slice(0, i + 1).join('/');
  };
  const [spec] = filter.cgroups ?? [];
  if (spec !== undefined) {
    const wanted = cgroupPathOf(spec);
    if (!isGlob(wanted))
      return (path) => (path === wanted || path.startsWith(`${wanted}/`) ? wanted : undefined);
    const glob = compileGlob(wanted);
    return (path) =>
      withAncestors(path)
        .reverse()
        .find((a) => glob.test(a));
  }
  const [unit] = filter.units ?? [];
  if (unit !== undefined) {
    const name = unitNameOf(unit);
    return (path) => upTo(path, (part) => part === name);
  }
  const [container] = filter.containers ?? [];
  if (container !== undefined) {
    const wanted = container.trim().toLowerCase();
    return (path) => upTo(path, (part) => containerIdOf(part)?.startsWith(wanted) === true);
  }
  return () => undefined;
}

/**
 * The one cgroup a target named by `cgroup:`, `unit:` or `container:` stands for, from its
 * members' cgroups: the named cgroup (not the sub-cgroup a member sits in), the unit's own, the
 * container's. Undefined for a target named otherwise, or whose members are in different ones
 * (a glob or a prefix that matched two); a target with no process has its plain `cgroup:` path.
 */
export function targetCgroup(
  filter: ProcessFilter,
  members: readonly CgroupPaths[],
): TargetCgroup | undefined {
  if (members.length === 0) {
    const only = filter.cgroups?.length === 1 ? cgroupPathOf(filter.cgroups[0] as string) : undefined;
    return only === undefined || isGlob(only) ? undefined : { path: only };
  }
  const anchorOf = anchorFinder(filter);
  let found: TargetCgroup | undefined;
  for (const paths of members) {
    const version = paths.memoryV1 !== undefined ? 'v1' : 'v2';
    const path = paths.memoryV1 ?? paths.unified;
    const anchor = path === undefined ? undefined : anchorOf(path);
    if (anchor === undefined) return undefined;
    if (found === undefined) found = { path: anchor, version };
    else if (found.path !== anchor || found.version !== version) return undefined;
  }
  return found;
}
