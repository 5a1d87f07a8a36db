import { basename } from 'node:path';
import { MemwardenError } from '../errors.js';
import type { CgroupPaths, ProcessRecord } from '../proc/index.js';
import { ProcReader, processName, readAllText, uidOf } from '../proc/index.js';
import { cgroupTest, containerTest, unitNameOf, unitTest } from './cgroup-match.js';
import type { ProcessFilter } from './filter.js';
import { compileGlob, compileRegex, MATCH_PREFIX_CHARS } from './pattern.js';

/** One test of one kind, with the words `--explain` prints for it. */
interface Test {
  label: string;
  test(record: ProcessRecord, commandLine: string): boolean;
}

/** A filter with its patterns compiled and its pid files read: ready to run on every sweep. */
export interface CompiledFilter {
  /** Each inner list is one kind; a record must pass one test of every kind. */
  kinds: Test[][];
  /** Whether any kind tests the command line. */
  hasCommandPatterns: boolean;
  /**
   * Whether memwarden and its launchers are left out: by every kind of match (a pattern, a
   * name, a user, `all`), since memwarden's own argv holds the pattern and runs as the user;
   * only a pid named outright (`--pid`, a pid file) still selects it.
   */
  excludesSelf: boolean;
  children: boolean;
  includeStopped: boolean;
}

/**
 * Joined command lines by argv: the reader hands the same array for a process until its command
 * line is read anew, so a watcher joins each one once, not on every sweep.
 */
const joined = new WeakMap<readonly string[], string>();

/** The command line as one string, as `ps -o args` shows it; `[name]` for kernel threads. */
export function commandLineOf(record: ProcessRecord): string {
  if (record.cmdline.length === 0) return `[${record.name}]`;
  let text = joined.get(record.cmdline);
  if (text === undefined) {
    text = record.cmdline.join(' ');
    if (text.length > MATCH_PREFIX_CHARS) text = text.slice(0, MATCH_PREFIX_CHARS);
    joined.set(record.cmdline, text);
  }
  return text;
}

/**
 * Opened without blocking: a pid file lives where the service writes, and a FIFO put there in
 * its place must not stall the cycle (it reads as empty, so as no pid).
 */
function readPidFile(path: string): number {
  const text = readAllText(path, 4096);
  if (typeof text !== 'string') {
    const why =
      text.code === 'ENOENT' ? 'no such file' : text.code === 'EACCES' ? 'permission denied' : text.code;
    throw new MemwardenError('MW_NO_PIDFILE', `cannot read pid file ${path}: ${why}`);
  }
  const pid = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new MemwardenError(
      'MW_NO_PIDFILE',
      `pid file ${path} does not hold a pid (found '${text.trim().slice(0, 40)}')`,
    );
  }
  return pid;
}

/**
 * comm is cut to 15 bytes (`my-very-long-daemon` shows as `my-very-long-da`), so the full name
 * comes from argv[0]; comm still counts for processes that renamed themselves (PR_SET_NAME).
 * A name asked for as the kernel shows it (`node-MainThread`) means the process's name (`node`).
 */
function nameMatches(record: ProcessRecord, name: string): boolean {
  const argv0 = record.cmdline[0];
  return record.name === processName(name) || (argv0 !== undefined && basename(argv0) === name);
}

export interface CompileOptions {
  /**
   * Where a process's cgroups come from: a watcher passes its reader's, which keeps them per
   * process; without it each test reads `/proc/<pid>/cgroup`.
   */
  cgroupPaths?: (pid: number) => CgroupPaths | undefined;
}

/** One kind of test per cgroup-based match kind, each reading the process's cgroups once. */
function cgroupKinds(filter: ProcessFilter, cgroupsOf: (pid: number) => CgroupPaths | undefined): Test[][] {
  const kinds: Test[][] = [];
  const add = (
    label: string,
    specs: readonly string[],
    make: (spec: string) => (p: CgroupPaths) => boolean,
  ) => {
    if (specs.length === 0) return;
    kinds.push(
      specs.map((spec) => {
        const test = make(spec);
        return {
          label: `${label} ${spec}`,
          test: (r: ProcessRecord) => {
            if (r.kernelThread) return false;
            const paths = cgroupsOf(r.pid);
            return paths !== undefined && test(paths);
          },
        };
      }),
    );
  };
  add('cgroup', filter.cgroups ?? [], cgroupTest);
  add('unit', (filter.units ?? []).map(unitNameOf), unitTest);
  for (const id of filter.containers ?? []) {
    if (!/^[0-9a-f]{1,64}$/i.test(id.trim()))
      throw new MemwardenError(
        'MW_BAD_VALUE',
        `container '${id}' is not a container id or id prefix (hex digits, as docker ps shows them)`,
      );
  }
  add('container', filter.containers ?? [], containerTest);
  return kinds;
}

/** Compiles a filter once: bad regexes, globs, users and pid files fail here, before any sweep. */
export function compileFilter(filter: ProcessFilter, options: CompileOptions = {}): CompiledFilter {
  const commandTests: Test[] = [];
  for (const s of filter.substrings ?? []) {
    commandTests.push({ label: `pattern '${s}'`, test: (_r, line) => line.includes(s) });
  }
  for (const source of filter.regexes ?? []) {
    const regex = compileRegex(source);
    commandTests.push({ label: `regex /${source}/`, test: (_r, line) => regex.test(line) });
  }
  for (const glob of filter.globs ?? []) {
    const regex = compileGlob(glob);
    commandTests.push({ label: `glob '${glob}'`, test: (_r, line) => regex.test(line) });
  }
  const kinds: Test[][] = [];
  if (commandTests.length > 0 && !filter.all) kinds.push(commandTests);
  if (filter.names?.length) {
    kinds.push(filter.names.map((n) => ({ label: `name '${n}'`, test: (r) => nameMatches(r, n) })));
  }
  const pidTests: Test[] = [];
  for (const pid of filter.pids ?? []) {
    if (!Number.isInteger(pid) || pid <= 0) throw new MemwardenError('MW_BAD_VALUE', `invalid pid '${pid}'`);
    pidTests.push({ label: `pid ${pid}`, test: (r) => r.pid === pid });
  }
  for (const path of filter.pidfiles ?? []) {
    const pid = readPidFile(path);
    pidTests.push({ label: `pid ${pid} from ${path}`, test: (r) => r.pid === pid });
  }
  if (pidTests.length > 0) kinds.push(pidTests);
  if (filter.users?.length) {
    kinds.push(
      filter.users.map((user) => {
        const uid = uidOf(user);
        if (uid === undefined) throw new MemwardenError('MW_BAD_VALUE', `unknown user '${user}'`);
        return { label: `user ${user}`, test: (r: ProcessRecord) => r.uid === uid };
      }),
    );
  }
  if (filter.cgroups?.length || filter.units?.length || filter.containers?.length) {
    let cgroupsOf = options.cgroupPaths;
    if (cgroupsOf === undefined) {
      const reader = new ProcReader();
      cgroupsOf = (pid) => reader.cgroupPaths(pid);
    }
    kinds.push(...cgroupKinds(filter, cgroupsOf));
  }
  return {
    kinds,
    hasCommandPatterns: commandTests.length > 0 && !filter.all,
    excludesSelf: pidTests.length === 0,
    children: filter.children ?? false,
    includeStopped: filter.includeStopped ?? false,
  };
}

export interface Selection {
  records: ProcessRecord[];
  /** Why each selected pid was selected, for `--explain` (empty unless explaining). */
  reasons: Map<number, string[]>;
  /** Labels of the tests that matched no process at all (empty unless explaining). */
  unmatched: string[];
}

function isStoppedOrDead(record: ProcessRecord): boolean {
  return record.state === 'Z' || record.state === 'T' || record.state === 't' || record.state === 'X';
}

/**
 * The pids of `pid` and all its ancestors in this sweep but init, which launches everything. A
 * chain is a handful of processes, so each parent is looked up by a scan: cheaper than
 * indexing every process on every sweep.
 */
function lineage(records: readonly ProcessRecord[], pid: number): Set<number> {
  const out = new Set<number>();
  let current: number | undefined = pid;
  while (current !== undefined && current > 1 && !out.has(current)) {
    out.add(current);
    const pidNow: number = current;
    current = records.find((r) => r.pid === pidNow)?.ppid;
  }
  return out;
}

/**
 * Applies a compiled filter to one sweep. No kind of match selects memwarden itself or the
 * processes that launched it (`npx`, a shell): their argv holds the very pattern, and they are
 * `node` and the user's own. Only a pid named outright still selects one of them.
 */
export function selectProcesses(
  records: readonly ProcessRecord[],
  filter: CompiledFilter,
  options: {
    selfPid?: number;
    /** Keep why each process was selected (default); a watcher's every-cycle selection need not. */
    explain?: boolean;
  } = {},
): Selection {
  const explain = options.explain ?? true;
  const excluded = filter.excludesSelf ? lineage(records, options.selfPid ?? process.pid) : new Set<number>();
  const reasons = new Map<number, string[]>();
  const hits = new Set<string>();
  const selected: ProcessRecord[] = [];
  for (const record of records) {
    if (!filter.includeStopped && isStoppedOrDead(record)) continue;
    if (excluded.has(record.pid)) continue;
    const line = filter.hasCommandPatterns ? commandLineOf(record) : '';
    const why = explain ? [] : undefined;
    if (!passes(filter.kinds, record, line, why)) continue;
    if (why !== undefined) {
      for (const label of why) hits.add(label);
      reasons.set(record.pid, why);
    }
    selected.push(record);
  }
  if (filter.children)
    addDescendants(records, selected, explain ? reasons : undefined, filter.includeStopped);
  const unmatched = explain
    ? filter.kinds
        .flat()
        .map((t) => t.label)
        .filter((label) => !hits.has(label))
    : [];
  return { records: selected, reasons, unmatched };
}

/**
 * Whether a test of every kind passes, adding the labels of all that pass to `why` when given
 * (without it, the first pass of a kind is enough): one sweep's hot loop.
 */
function passes(
  kinds: readonly Test[][],
  record: ProcessRecord,
  line: string,
  why: string[] | undefined,
): boolean {
  for (const kind of kinds) {
    let any = false;
    for (const test of kind) {
      if (!test.test(record, line)) continue;
      any = true;
      if (why === undefined) break;
      why.push(test.label);
    }
    if (!any) return false;
  }
  return true;
}

function addDescendants(
  records: readonly ProcessRecord[],
  selected: ProcessRecord[],
  reasons: Map<number, string[]> | undefined,
  includeStopped: boolean,
): void {
  const taken = new Set(selected.map((r) => r.pid));
  const childrenOf = new Map<number, ProcessRecord[]>();
  for (const r of records) {
    const list = childrenOf.get(r.ppid);
    if (list) list.push(r);
    else childrenOf.set(r.ppid, [r]);
  }
  const queue = selected.map((r) => r.pid);
  while (queue.length > 0) {
    const parent = queue.shift() as number;
    for (const child of childrenOf.get(parent) ?? []) {
      if (taken.has(child.pid)) continue;
      if (!includeStopped && isStoppedOrDead(child)) continue;
      taken.add(child.pid);
      reasons?.set(child.pid, [`child of ${parent}`]);
      selected.push(child);
      queue.push(child.pid);
    }
  }
}
