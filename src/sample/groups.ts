import type { ProcessSample } from './types.js';

/**
 * A set of processes taken as one: a target, a cgroup, a systemd unit, or a parent with its
 * descendants. Its memory is the sum of its members' PSS, which divides each shared page among
 * the processes that map it, so a page shared by a parent and four forked workers is counted
 * once, not five times as a sum of RSS would. USS is what stopping the whole group would free.
 */
export interface GroupTotal {
  key: string;
  processes: number;
  pids: number[];
  rss: number;
  /**
   * Sum of PSS; a member whose `smaps_rollup` could not be read (another user's process without
   * root) counts with its RSS, and is listed in `pssFromRss`.
   */
  pss?: number;
  uss?: number;
  swap?: number;
  /** Members counted with RSS in `pss` because their PSS was not readable (or not read yet). */
  pssFromRss: number[];
  /**
   * Of those, the members whose PSS was not read yet (a time budget put them off) rather than
   * refused: while there are any, `pss` says less about the group than it seems to.
   */
  pssUnread?: number[];
  /** 100 % = one core. */
  cpuPercent?: number;
}

/** A group of no process yet: what its sums start from (and a target with none this tick is). */
export function emptyGroupTotal(key: string, withPss: boolean): GroupTotal {
  return {
    key,
    processes: 0,
    pids: [],
    rss: 0,
    pssFromRss: [],
    ...(withPss ? { pss: 0, uss: 0, swap: 0 } : {}),
  };
}

/**
 * Sums samples by group. `keysOf` gives a sample's groups (none leaves it out, several count it
 * in each); `withPss` says whether PSS was asked for at all, so a missing one is a fallback.
 */
export function groupTotals(
  samples: readonly ProcessSample[],
  keysOf: (sample: ProcessSample) => readonly string[],
  withPss: boolean,
): GroupTotal[] {
  const groups = new Map<string, GroupTotal>();
  for (const s of samples) {
    for (const key of keysOf(s)) {
      let g = groups.get(key);
      if (g === undefined) {
        g = emptyGroupTotal(key, withPss);
        groups.set(key, g);
      }
      g.processes++;
      g.pids.push(s.pid);
      g.rss += s.rss ?? 0;
      if (s.cpuPercent !== undefined) g.cpuPercent = (g.cpuPercent ?? 0) + s.cpuPercent;
      // Kernel threads map no user memory: nothing to read, nothing to fall back on.
      if (!withPss || s.kernelThread) continue;
      if (s.pss === undefined) {
        g.pssFromRss.push(s.pid);
        g.pss = (g.pss ?? 0) + (s.rss ?? 0);
        if (s.rss !== undefined && !s.partial?.includes('smaps')) {
          g.pssUnread ??= [];
          g.pssUnread.push(s.pid);
        }
      } else {
        g.pss = (g.pss ?? 0) + s.pss;
        g.uss = (g.uss ?? 0) + (s.uss ?? 0);
        g.swap = (g.swap ?? 0) + (s.swap ?? 0);
      }
    }
  }
  return [...groups.values()];
}

/**
 * Each process's family: the pid of its highest ancestor among `samples` (itself when its parent
 * is not among them), so a parent and its workers form one group.
 */
export function familyKeys(samples: readonly ProcessSample[]): Map<number, number> {
  const byPid = new Map(samples.map((s) => [s.pid, s]));
  const root = new Map<number, number>();
  const rootOf = (pid: number): number => {
    const known = root.get(pid);
    if (known !== undefined) return known;
    const seen = new Set<number>();
    let current = pid;
    for (;;) {
      seen.add(current);
      const parent = byPid.get(current)?.ppid;
      if (parent === undefined || !byPid.has(parent) || seen.has(parent)) break;
      current = parent;
    }
    for (const p of seen) root.set(p, current);
    return current;
  };
  for (const s of samples) rootOf(s.pid);
  return root;
}
