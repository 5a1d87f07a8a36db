/**
 * Real cgroup v1 memory cgroups for tests, always removed: each is named after the branch's
 * tests and this test process's pid (the machine and its cgroups are shared), its processes are
 * killed and the directory removed in the `after` hook of the file that made it, even on failure.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { after } from 'node:test';
import { unifiedMount } from '../../src/proc/index.js';

export const V1_MEMORY = '/sys/fs/cgroup/memory';

const made: string[] = [];
let serial = 0;

/** Whether tests can make v1 memory cgroups here (root, controller mounted in v1 mode). */
export function canMakeMemoryCgroups(): boolean {
  return process.getuid?.() === 0 && existsSync(`${V1_MEMORY}/memory.limit_in_bytes`);
}

export interface TestCgroup {
  /** The path inside the controller, e.g. `/memwarden-guard-123-1`. */
  path: string;
  /** The directory under the mount. */
  dir: string;
}

/** Makes `/memwarden-guard-<pid>-<n>` with a memory limit (and the same limit on memory+swap). */
export function makeMemoryCgroup(limitBytes: number): TestCgroup {
  const path = `/memwarden-guard-${process.pid}-${++serial}`;
  const dir = `${V1_MEMORY}${path}`;
  mkdirSync(dir);
  made.push(dir);
  writeFileSync(`${dir}/memory.limit_in_bytes`, String(limitBytes));
  try {
    writeFileSync(`${dir}/memory.memsw.limit_in_bytes`, String(limitBytes));
  } catch {
    // no swap accounting: without swap the limit alone holds
  }
  return { path, dir };
}

/** Where cgroup v2 is mounted here (a hybrid host's `unified`, or the whole tree), if anywhere. */
export function unifiedRoot(): string | undefined {
  const root = unifiedMount();
  return existsSync(`${root}/cgroup.controllers`) ? root : undefined;
}

/**
 * Why a test cannot make a cgroup v2 group with its own `memory.pressure` here, or undefined
 * when it can. The file comes with PSI, not with the memory controller, so a hybrid host whose
 * v2 tree lacks that controller still has one per group.
 */
export function whyNoUnifiedPressure(): string | undefined {
  if (process.getuid?.() !== 0) return 'making a cgroup v2 group needs root';
  const root = unifiedRoot();
  if (root === undefined) return 'cgroup v2 is not mounted here (cgroup v1 only)';
  if (!existsSync(`${root}/memory.pressure`)) return `${root} has no memory.pressure (kernel without PSI)`;
  return undefined;
}

/** Makes a cgroup v2 group `/memwarden-psi-<pid>-<n>`, removed (its processes killed) after the file. */
export function makeUnifiedCgroup(): TestCgroup {
  const root = unifiedRoot();
  if (root === undefined) throw new Error('cgroup v2 is not mounted');
  const path = `/memwarden-psi-${process.pid}-${++serial}`;
  const dir = `${root}${path}`;
  mkdirSync(dir);
  made.push(dir);
  return { path, dir };
}

/** Moves a process into a cgroup (v1 or v2: both take a pid written to `cgroup.procs`). */
export function moveInto(cgroup: TestCgroup, pid: number): void {
  writeFileSync(`${cgroup.dir}/cgroup.procs`, String(pid));
}

export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function oomKillCount(dir: string): number {
  const m = /oom_kill (\d+)/.exec(readFileSync(`${dir}/memory.oom_control`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function remove(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 500 && existsSync(dir); attempt++) {
    for (const pid of cgroupPids(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    try {
      rmdirSync(dir);
      return;
    } catch {
      // still busy while its last process exits
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

after(async () => {
  for (const dir of made.splice(0)) await remove(dir);
});
