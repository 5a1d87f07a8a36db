import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { errnoCode, MemwardenError } from '../errors.js';
import { parseStat, readAllBytes } from '../proc/index.js';
import { stateOf, tracerPid } from './target-checks.js';

/**
 * Running lldb against a live process, the one debugger whose inferior calls work on these
 * machines (gdb 13 fails them on CPUs with AMX). Everything here assumes the worst: lldb may be
 * missing, refused by the kernel, hang, or be killed, and the target must still be running
 * afterwards.
 */

/** Captured lldb output beyond this is dropped (and counted): only errors are read from it. */
const OUTPUT_CAP_BYTES = 256 * 1024;
/** CAP_SYS_PTRACE's bit in CapEff (include/uapi/linux/capability.h). */
const CAP_SYS_PTRACE = 19n;
/** How long lldb-server may take to let go of the target after lldb is gone. */
const RELEASE_WAIT_MS = 2000;
/** How lldb echoes a command of ours that calls into the target. */
const EXPRESSION_ECHO = Buffer.from('(lldb) expression ');

export interface PtraceVerdict {
  allowed: boolean;
  /** Why not, in words a user can act on. */
  reason?: string;
  /** kernel.yama.ptrace_scope, when Yama is present. */
  ptraceScope?: number;
}

/**
 * Whether we may ptrace a process owned by `targetUid`, judged from Yama's ptrace_scope, our uid
 * and CAP_SYS_PTRACE, without trying. A container's seccomp profile can still refuse at attach
 * time; that refusal is mapped to the same kind of error. The sysctl is only ever read.
 */
export function ptracePreflight(targetUid: number): PtraceVerdict {
  const scope = readPtraceScope();
  const verdict = (allowed: boolean, reason?: string): PtraceVerdict => ({
    allowed,
    ...(reason === undefined ? {} : { reason }),
    ...(scope === undefined ? {} : { ptraceScope: scope }),
  });
  const privileged = hasCapSysPtrace();
  if (scope === 3) return verdict(false, 'kernel.yama.ptrace_scope is 3: ptrace is disabled until reboot');
  const euid = process.geteuid?.() ?? -1;
  if (targetUid !== euid && !privileged) {
    return verdict(
      false,
      `the process belongs to uid ${targetUid}; memwarden runs as uid ${euid} without CAP_SYS_PTRACE`,
    );
  }
  if (scope === 2 && !privileged) {
    return verdict(false, 'kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE may attach');
  }
  if (scope === 1 && !privileged) {
    // The tracer is lldb-server, never an ancestor of the target, so scope 1 refuses it unless
    // the target itself allowed it with prctl(PR_SET_PTRACER).
    return verdict(false, 'kernel.yama.ptrace_scope is 1: only an ancestor or CAP_SYS_PTRACE may attach');
  }
  return verdict(true);
}

function readPtraceScope(): number | undefined {
  try {
    const value = Number(readFileSync('/proc/sys/kernel/yama/ptrace_scope', 'latin1').trim());
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function hasCapSysPtrace(): boolean {
  try {
    const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
    return match?.[1] !== undefined && ((BigInt(`0x${match[1]}`) >> CAP_SYS_PTRACE) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The first of `names` found as an executable in a PATH directory, or undefined. */
export function findOnPath(names: readonly string[], path = process.env.PATH ?? ''): string | undefined {
  const dirs = path.split(delimiter).filter((d) => d !== '');
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** lldb on PATH: `lldb`, else a versioned `lldb-NN` as Debian installs it. */
export function findLldb(): string | undefined {
  return findOnPath(['lldb', ...Array.from({ length: 12 }, (_, i) => `lldb-${20 - i}`)]);
}

export const LLDB_NOT_FOUND = 'lldb not found (apt-get install lldb)';

export interface LldbOptions {
  timeoutMs: number;
  /** The lldb executable; found on PATH when absent. */
  lldbPath?: string;
}

export interface LldbRun {
  /** stdout and stderr together, capped. */
  output: string;
  droppedOutputBytes: number;
  exitCode: number | null;
  /** True when our hard timeout killed lldb. */
  timedOut: boolean;
  durationMs: number;
  /** The target's state once lldb is gone; undefined when the target is gone. */
  targetState: string | undefined;
  /** True when we sent SIGCONT because the target was left stopped. */
  continued: boolean;
}

/**
 * Attaches lldb to `pid`, runs `commands` in batch mode (lldb stops at the first failing one and
 * detaches), and always reaps it. The caller has checked that the target was neither stopped nor
 * traced before, so a stop seen afterwards is ours and is undone with SIGCONT: after a tracer
 * dies, a tracee in group-stop stays stopped (ptrace(2)).
 */
export function runLldb(pid: number, commands: readonly string[], options: LldbOptions): Promise<LldbRun> {
  const lldb = options.lldbPath ?? findLldb();
  if (lldb === undefined) return Promise.reject(new MemwardenError('MW_UNSUPPORTED', LLDB_NOT_FOUND));
  const started = performance.now();
  // -x: a user's ~/.lldbinit has no business running inside someone's process.
  const args = ['--batch', '-x', '-p', String(pid), ...commands.flatMap((c) => ['-o', c])];
  return new Promise((resolve, reject) => {
    const child = spawn(lldb, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    const onData = (chunk: Buffer) => {
      const room = OUTPUT_CAP_BYTES - kept;
      if (room > 0) chunks.push(chunk.subarray(0, room));
      kept += Math.min(room, chunk.length);
      dropped += Math.max(0, chunk.length - room);
    };
    // Once lldb has echoed an `expression`, a call may be running inside the target: a tracer
    // killed then leaves the thread to return into lldb's trap address and die of SIGTRAP. The
    // call carries its own, shorter timeout (lldbExpression), which unwinds it safely; so a
    // running call gets the whole budget from its own start, and the kill is for a wedged lldb.
    let callStartedAt: number | undefined;
    // The echo may arrive split over two reads: the end of the last one is kept to be joined.
    let stdoutTail = Buffer.alloc(0);
    const watchForCall = (chunk: Buffer) => {
      if (callStartedAt !== undefined) return;
      const seen = Buffer.concat([stdoutTail, chunk]);
      if (seen.includes(EXPRESSION_ECHO)) callStartedAt = performance.now();
      else stdoutTail = seen.subarray(Math.max(0, seen.length - EXPRESSION_ECHO.length + 1));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.stdout.on('data', watchForCall);
    let timedOut = false;
    const killUnlessInCall = () => {
      const callEndsBy = callStartedAt === undefined ? 0 : callStartedAt + options.timeoutMs;
      const wait = callEndsBy - performance.now();
      if (wait > 0) {
        timer = setTimeout(killUnlessInCall, wait);
        return;
      }
      timedOut = true;
      const strayServer = ourTracer(pid, child.pid);
      // lldb's own children (a platform shell) share its group; lldb-server has its own session.
      killGroup(child.pid);
      if (strayServer !== undefined) killPid(strayServer);
    };
    let timer = setTimeout(killUnlessInCall, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(
        errnoCode(err) === 'ENOENT'
          ? new MemwardenError('MW_UNSUPPORTED', LLDB_NOT_FOUND)
          : new MemwardenError('MW_FAILED', `could not run ${lldb}: ${err.message}`),
      );
    });
    child.once('exit', () => {
      // Should anything left behind still hold lldb's pipes, stop waiting for them.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1000).unref();
    });
    child.once('close', (exitCode) => {
      clearTimeout(timer);
      settleTarget(pid).then(
        ({ state, continued }) =>
          resolve({
            output: Buffer.concat(chunks).toString('utf8'),
            droppedOutputBytes: dropped,
            exitCode,
            timedOut,
            durationMs: performance.now() - started,
            targetState: state,
            continued,
          }),
        reject,
      );
    });
  });
}

/** The target's tracer when it is the lldb-server our lldb started: the only one we may kill. */
function ourTracer(pid: number, lldbPid: number | undefined): number | undefined {
  const tracer = tracerPid(pid);
  if (!tracer || lldbPid === undefined) return undefined;
  const bytes = readAllBytes(`/proc/${tracer}/stat`, 4096);
  if (!Buffer.isBuffer(bytes)) return undefined;
  return parseStat(bytes)?.ppid === lldbPid ? tracer : undefined;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is already gone
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Waits for the tracer to let go, then resumes the target if it was left stopped. */
async function settleTarget(pid: number): Promise<{ state: string | undefined; continued: boolean }> {
  const deadline = performance.now() + RELEASE_WAIT_MS;
  while (performance.now() < deadline && (tracerPid(pid) ?? 0) !== 0) {
    await new Promise((r) => setTimeout(r, 20));
  }
  let state = stateOf(pid);
  let continued = false;
  if (state === 'T' || state === 't') {
    try {
      process.kill(pid, 'SIGCONT');
      continued = true;
    } catch {
      // gone meanwhile
    }
    state = await stateAfterContinue(pid);
  }
  return { state, continued };
}

async function stateAfterContinue(pid: number): Promise<string | undefined> {
  let state = stateOf(pid);
  for (let i = 0; i < 25 && (state === 'T' || state === 't'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    state = stateOf(pid);
  }
  return state;
}

/**
 * Attaching takes about a second here, and interrupting and unwinding a hung call about two
 * more: what a call inside the target may take of an operation's whole budget.
 */
const LLDB_OVERHEAD_MS = 5000;

/**
 * An lldb `expression` command for a call inside the target, given the whole operation's
 * budget. lldb's own timeout interrupts a call that hangs and unwinds the thread to where it
 * was, which is far gentler than our hard kill (after which the target would return from the
 * call into nowhere), so it is set to fire well before the hard timeout.
 */
export function lldbExpression(code: string, operationTimeoutMs: number): string {
  const callMs = Math.max(500, Math.min(operationTimeoutMs * 0.7, operationTimeoutMs - LLDB_OVERHEAD_MS));
  const micros = Math.round(callMs * 1000);
  return `expression --timeout ${micros} --unwind-on-error true --ignore-breakpoints true -- ${code}`;
}

/** The integer an `expression` printed (`(int) $0 = 1`), the last one when there are several. */
export function expressionValue(output: string): number | undefined {
  const values = [...output.matchAll(/^\((?:int|long)\) \$\d+ = (-?\d+)$/gm)];
  const last = values.at(-1)?.[1];
  return last === undefined ? undefined : Number(last);
}

/**
 * The failure an lldb run reports, as the error a user should see; undefined when it reported
 * none. Only lldb's `error:` lines are read: the rest of its output is chatter.
 */
export function lldbFailure(run: LldbRun, pid: number, what: string): MemwardenError | undefined {
  if (run.timedOut) {
    return new MemwardenError(
      'MW_TIMEOUT',
      `${what} on pid ${pid} timed out; lldb was killed, target state uncertain (now ${describeState(run.targetState)})`,
    );
  }
  const attach = /^error: attach failed: (.*)$/m.exec(run.output)?.[1];
  if (attach !== undefined) {
    if (run.targetState === undefined)
      return new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during attach`);
    if (/not permitted|permission/i.test(attach)) {
      const scope = readPtraceScope();
      return new MemwardenError(
        'MW_PERMISSION',
        `ptrace attach to pid ${pid} was refused (${attach}): check kernel.yama.ptrace_scope` +
          `${scope === undefined ? ' (Yama is absent here: a container or seccomp policy forbids ptrace?)' : ` (now ${scope})`}` +
          ' and CAP_SYS_PTRACE; memwarden never changes it. The cooperative agent needs no ptrace.',
      );
    }
    return new MemwardenError('MW_FAILED', `lldb could not attach to pid ${pid}: ${attach}`);
  }
  const symbol = /use of undeclared identifier '([^']+)'/.exec(run.output)?.[1];
  if (symbol !== undefined) {
    return new MemwardenError(
      'MW_UNSUPPORTED',
      `pid ${pid} has no symbol '${symbol}' that lldb can call (stripped, or not the runtime it looks like); nothing was run`,
    );
  }
  const interrupted = /^error: Execution was interrupted, reason: (.*)$/m.exec(run.output)?.[1];
  if (interrupted !== undefined) {
    const byTimeout = /SIGSTOP|timed out|timeout/i.test(interrupted);
    return new MemwardenError(
      byTimeout ? 'MW_TIMEOUT' : 'MW_FAILED',
      `${what} on pid ${pid} was interrupted (${interrupted.replace(/\.$/, '')})` +
        `${byTimeout ? ': timed out' : ''}; lldb unwound the call, target state uncertain (now ${describeState(run.targetState)})`,
    );
  }
  const error = /^error: (.*)$/m.exec(run.output)?.[1];
  if (error !== undefined) {
    if (run.targetState === undefined)
      return new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during ${what}`);
    return new MemwardenError('MW_FAILED', `${what} on pid ${pid} failed in lldb: ${error}`);
  }
  if (run.exitCode !== 0) {
    if (run.targetState === undefined)
      return new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during ${what}`);
    return new MemwardenError(
      'MW_FAILED',
      `lldb exited with code ${run.exitCode} during ${what} on pid ${pid}`,
    );
  }
  return undefined;
}

function describeState(state: string | undefined): string {
  return state === undefined ? 'gone' : `state ${state}`;
}
