/** Real targets for the runtime tests: Python interpreters, fixtures, heartbeats, descendants. */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { findLldb } from '../../src/runtimes/debugger.js';
import { pidOf, reapAllAndWait, start, waitForLine } from '../helpers/processes.js';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
export const AGENT_PYTHONPATH = new URL('../../python/', import.meta.url).pathname;
export const LLDB = findLldb();
export const NO_LLDB = LLDB === undefined ? 'lldb is not installed (apt-get install lldb)' : false;

export interface Interpreter {
  /** What to run: a path, or a name on PATH. */
  exe: string;
  /** e.g. `python3 on PATH (3.11.7)`. */
  label: string;
}

/** Debian's /usr/bin/python3 and whatever `python3` is on PATH (pyenv here), when they differ. */
export function interpreters(): Interpreter[] {
  const found: Interpreter[] = [];
  const seen = new Set<string>();
  for (const exe of ['/usr/bin/python3', 'python3']) {
    try {
      const version = execFileSync(exe, ['-c', 'import sys; print(sys.version.split()[0], sys.executable)'], {
        encoding: 'utf8',
      }).trim();
      const [number, real] = version.split(' ');
      if (real === undefined || seen.has(real)) continue;
      seen.add(real);
      found.push({ exe, label: `${exe === 'python3' ? 'python3 on PATH' : exe} (${number})` });
    } catch {
      // not installed
    }
  }
  return found;
}

const scratch = mkdtempSync(join(tmpdir(), 'memwarden-rt-test-'));
// The targets write into the scratch directory (answers, snapshots): stop them before removing it.
after(async () => {
  await reapAllAndWait();
  rmSync(scratch, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});
let beats = 0;

/** A copy of /bin/sleep named `node` (issue 10, point 3): the name is all it has of Node. */
export function fakeNode(): string {
  const dir = mkdtempSync(join(scratch, 'fake-'));
  const path = join(dir, 'node');
  copyFileSync('/bin/sleep', path);
  chmodSync(path, 0o755);
  return path;
}

export interface PythonTarget {
  pid: number;
  heartbeat: string;
}

/** Starts a fixture that prints `ready <pid>` once set up and beats a heartbeat file. */
export async function startFixture(
  exe: string,
  fixture: string,
  args: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
  prefix: readonly string[] = [],
): Promise<PythonTarget> {
  const heartbeat = join(scratch, `beat-${beats++}`);
  const child = start(exe, [...prefix, join(FIXTURES, fixture), heartbeat, ...args], { env });
  await waitForLine(child, /^ready \d+$/, 60_000);
  return { pid: pidOf(child), heartbeat };
}

function beat(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8'));
  } catch {
    return -1;
  }
}

/** True once the target's heartbeat moves past what it was when asked. */
export async function heartbeatAdvances(path: string, timeoutMs = 5000): Promise<boolean> {
  const first = beat(path);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    if (beat(path) > first) return true;
  }
  return false;
}

export function stateOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

export function tracerOf(pid: number): number | undefined {
  try {
    const match = /^TracerPid:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Names of the live descendants of `root` (zombies included: an unreaped child is a leak too). */
export function descendantsOf(root: number): string[] {
  const parents = new Map<number, { ppid: number; name: string }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      parents.set(Number(entry), { ppid, name: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone
    }
  }
  const found: string[] = [];
  for (const [pid, { name }] of parents) {
    for (let p = parents.get(pid)?.ppid; p !== undefined && p > 1; p = parents.get(p)?.ppid) {
      if (p === root) {
        found.push(`${pid} ${name}`);
        break;
      }
    }
  }
  return found;
}
