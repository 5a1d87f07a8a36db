import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { isMemwardenError, MemwardenError } from '../../errors.js';
import type { ProcessIdentity, ProcessRecord } from '../../proc/index.js';
import { findLldb, LLDB_NOT_FOUND, ptracePreflight } from '../debugger.js';
import { checkTarget, exclusively, exePath, rssOf } from '../target-checks.js';
import { askAgent, findAgentSocket } from './agent.js';
import { parseGcAnswer, parseSnapshotAnswer } from './answers.js';
import { hasRemoteExec, type PythonInfo, pythonInfo } from './detect.js';
import { injectWithLldb } from './inject-lldb.js';
import type { ProbeCommand } from './payload.js';
import { injectWithRemoteExec, remoteExecDisabled, remoteExecInterpreter } from './remote-exec.js';
import { Scratch } from './scratch.js';
import type {
  PathProbe,
  PythonGcResult,
  PythonOptions,
  PythonPath,
  PythonProbes,
  PythonSnapshot,
  PythonSnapshotOptions,
} from './types.js';

const DEFAULT_TIMEOUT_MS = 30_000;
const ALL_PATHS: readonly PythonPath[] = ['agent', 'remote_exec', 'lldb'];

/**
 * What memwarden can do with a process's Python runtime, and why not: for `inspect`, and for
 * flagging rules as unavailable when a config loads. Never attaches to anything.
 */
export function pythonProbes(
  pid: number,
  options: Pick<PythonOptions, 'paths' | 'lldbPath'> = {},
): PythonProbes {
  let record: ProcessRecord;
  try {
    record = checkTarget(pid);
  } catch (err) {
    if (isMemwardenError(err)) return { pid, reason: err.message, paths: [] };
    throw err;
  }
  const info = pythonInfo(pid);
  if (!info) return { pid, reason: notPython(record).message, paths: [] };
  const paths = planPaths(record, info, options);
  const preferred = paths.find((p) => p.available)?.path;
  return { pid, python: info, paths, ...(preferred === undefined ? {} : { preferred }) };
}

/**
 * Runs `gc.collect()` inside a live CPython and then, unless `trim` is false, the allocator's
 * release call (glibc malloc_trim(0), jemalloc's purge, tcmalloc's release) through ctypes in the
 * same visit: the collector frees objects, but their memory stays in malloc's heap until then.
 * Reports what each step freed, RSS as read from /proc around the whole.
 */
export async function pythonGc(pid: number, options: PythonOptions = {}): Promise<PythonGcResult> {
  const started = performance.now();
  const trim = options.trim === false ? 0 : 1;
  const { path, answer, info, record } = await runProbe(pid, 'gc', { trim }, options);
  const rssAfterBytes = rssOf(pid);
  return {
    pid,
    path,
    ...(info.version === undefined ? {} : { pythonVersion: info.version }),
    // The target's own readings, replaced below by /proc's around the whole visit where known.
    ...parseGcAnswer(answer, pid),
    ...(record.rss === undefined ? {} : { rssBeforeBytes: record.rss }),
    ...(rssAfterBytes === undefined ? {} : { rssAfterBytes }),
    durationMs: performance.now() - started,
  };
}

/**
 * Counts the objects the collector tracks by type and lists tracemalloc's largest allocation
 * sites. tracemalloc sees only what is allocated after it starts: the first snapshot of a process
 * starts it (and says so in `tracemallocStartedNow`), so take a second one later and compare.
 */
export async function pythonSnapshot(
  pid: number,
  options: PythonSnapshotOptions = {},
): Promise<PythonSnapshot> {
  const top = Math.max(1, Math.min(1000, Math.floor(options.top ?? 100)));
  const { path, answer } = await runProbe(pid, 'snapshot', { top }, options);
  const snapshot = parseSnapshotAnswer(answer, pid, path);
  if (options.outFile !== undefined) writeJsonFile(options.outFile, snapshot);
  return snapshot;
}

interface ProbeOutcome {
  path: PythonPath;
  answer: unknown;
  info: PythonInfo;
  record: ProcessRecord;
}

async function runProbe(
  pid: number,
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  options: PythonOptions,
): Promise<ProbeOutcome> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  const record = checkTarget(pid, options.expect);
  const identity: ProcessIdentity = { pid, startTicks: record.startTicks };
  const info = pythonInfo(pid);
  if (!info) throw notPython(record);
  const plan = planPaths(record, info, options);
  const usable = plan.filter((p) => p.available);
  if (usable.length === 0) {
    const why = plan.map((p) => `${p.path}: ${p.reason ?? 'unavailable'}`).join('; ');
    throw new MemwardenError('MW_UNSUPPORTED', `no way into Python pid ${pid} (${why})`);
  }
  return exclusively(pid, async () => {
    let agentFailure: unknown;
    for (const probe of usable) {
      const remainingMs = Math.max(1, deadline - performance.now());
      if (probe.path === 'agent' && probe.socket !== undefined) {
        try {
          return {
            path: 'agent',
            answer: await askAgent(probe.socket, pid, command, args, remainingMs),
            info,
            record,
          };
        } catch (err) {
          // An agent that is stale or refuses the connection is no reason to give up while another
          // way in remains; one that took the whole budget leaves nothing to try another with.
          if (isMemwardenError(err) && err.code === 'MW_TIMEOUT') throw err;
          agentFailure = err;
          continue;
        }
      }
      const answer = await inject(probe.path, identity, info, command, args, remainingMs, options);
      return { path: probe.path, answer: injectedResult(answer, pid), info, record };
    }
    throw agentFailure;
  });
}

async function inject(
  path: PythonPath,
  identity: ProcessIdentity,
  info: PythonInfo,
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  timeoutMs: number,
  options: PythonOptions,
): Promise<unknown> {
  const scratch = new Scratch(identity.pid);
  try {
    if (path === 'remote_exec')
      return await injectWithRemoteExec(identity, info, command, args, scratch, { timeoutMs });
    return await injectWithLldb(
      identity,
      command,
      args,
      scratch,
      options.lldbPath === undefined ? { timeoutMs } : { timeoutMs, lldbPath: options.lldbPath },
    );
  } finally {
    scratch.remove();
  }
}

/** Unwraps what probes.run_to_file wrote: {"result": …, "pid": …} or {"error": …, "pid": …}. */
function injectedResult(answer: unknown, pid: number): unknown {
  if (typeof answer !== 'object' || answer === null) {
    throw new MemwardenError('MW_INPUT', `the answer from pid ${pid} is not an object`);
  }
  const { result, error, pid: answeredPid } = answer as Record<string, unknown>;
  if (answeredPid !== pid)
    throw new MemwardenError('MW_FAILED', `the answer came from pid ${String(answeredPid)}, not ${pid}`);
  if (error !== undefined)
    throw new MemwardenError('MW_FAILED', `the probe failed inside pid ${pid}: ${String(error)}`);
  return result;
}

function planPaths(
  record: ProcessRecord,
  info: PythonInfo,
  options: Pick<PythonOptions, 'paths' | 'lldbPath'>,
): PathProbe[] {
  const order = options.paths ?? ALL_PATHS;
  const ptrace = ptracePreflight(record.uid);
  return order.map((path): PathProbe => {
    const no = (reason: string): PathProbe => ({ path, available: false, reason });
    if (path === 'agent') {
      const lookup = findAgentSocket(record.pid, record.uid);
      return lookup.socket === undefined
        ? no(lookup.reason)
        : { path, available: true, socket: lookup.socket };
    }
    if (path === 'remote_exec') {
      if (!hasRemoteExec(info))
        return no(
          `needs Python 3.14 or later; pid ${record.pid} runs ${info.version ?? 'an unknown version'}`,
        );
      const disabled = remoteExecDisabled(record.pid, record.cmdline);
      if (disabled !== undefined) return no(disabled);
      if (remoteExecInterpreter(info) === undefined)
        return no(`no python${info.version} on PATH to call sys.remote_exec with`);
      if (!ptrace.allowed) return no(ptrace.reason ?? 'ptrace is not allowed');
      return { path, available: true };
    }
    if (hasRemoteExec(info) && options.paths === undefined) {
      return no('not tried on Python 3.14+ unless asked for: sys.remote_exec is the safe way in');
    }
    if ((options.lldbPath ?? findLldb()) === undefined) return no(LLDB_NOT_FOUND);
    if (!ptrace.allowed) return no(ptrace.reason ?? 'ptrace is not allowed');
    return { path, available: true };
  });
}

function notPython(record: ProcessRecord): MemwardenError {
  const exe = exePath(record.pid);
  if (exe === undefined) {
    return new MemwardenError(
      'MW_PERMISSION',
      `cannot tell whether pid ${record.pid} runs Python: its executable is hidden from uid ` +
        `${process.geteuid?.()} (the process belongs to uid ${record.uid})`,
    );
  }
  return new MemwardenError('MW_UNSUPPORTED', `pid ${record.pid} is not Python (it runs ${exe})`);
}

/** Writes a new or replaces a regular file, never following a link planted at `path`. */
function writeJsonFile(path: string, value: unknown): void {
  let fd: number;
  try {
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    throw new MemwardenError('MW_FAILED', `cannot write ${path}: ${(err as Error).message}`);
  }
  try {
    writeSync(fd, `${JSON.stringify(value, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}
