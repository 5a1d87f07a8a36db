import { MemwardenError } from '../../errors.js';
import type { ProcessIdentity } from '../../proc/index.js';
import {
  expressionValue,
  findLldb,
  LLDB_NOT_FOUND,
  lldbExpression,
  lldbFailure,
  ptracePreflight,
  runLldb,
} from '../debugger.js';
import { checkTarget, exclusively, recheckIdentity, rssOf } from '../target-checks.js';
import { type Allocator, detectAllocator, noAllocatorReason } from './allocator.js';

/** lldb loads a large executable's symbols (node: ~7 s here) before it can call anything. */
const DEFAULT_TIMEOUT_MS = 30_000;

export interface NativeTrimOptions {
  /**
   * Must be true. The release call runs inside the target at whatever point ptrace stopped it: if that
   * is inside malloc, the call deadlocks on the arena lock until the timeout unwinds it. Callers
   * opt in knowingly.
   */
  intrusive: boolean;
  /** Attach, call, detach. Default 30 s. */
  timeoutMs?: number;
  /** The process the caller decided about: refused with MW_NO_PROCESS if the pid now names another. */
  expect?: ProcessIdentity;
  /** The lldb executable, when not the one on PATH. */
  lldbPath?: string;
}

export interface NativeTrimResult {
  pid: number;
  path: 'lldb';
  allocator: Allocator['name'];
  /** The call made, e.g. `malloc_trim(0)`. */
  call: string;
  /** What the call returned, read as: it gave memory back to the system (undefined: it does not say). */
  released?: boolean;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  durationMs: number;
}

export interface NativeProbes {
  pid: number;
  /** The allocator the process uses, when memwarden knows how to drive it. */
  allocator?: Allocator;
  trim: { available: boolean; reason?: string };
}

/** Whether the allocator's release call can be made in `pid`, and why not. Never attaches. */
export function nativeProbes(pid: number, options: Pick<NativeTrimOptions, 'lldbPath'> = {}): NativeProbes {
  let uid: number;
  try {
    uid = checkTarget(pid).uid;
  } catch (err) {
    if (err instanceof MemwardenError) return { pid, trim: { available: false, reason: err.message } };
    throw err;
  }
  const allocator = detectAllocator(pid);
  const no = (reason: string): NativeProbes => ({
    pid,
    ...(allocator === undefined ? {} : { allocator }),
    trim: { available: false, reason },
  });
  if (allocator === undefined) return no(noAllocatorReason(pid));
  if ((options.lldbPath ?? findLldb()) === undefined) return no(LLDB_NOT_FOUND);
  const ptrace = ptracePreflight(uid);
  if (!ptrace.allowed) return no(ptrace.reason ?? 'ptrace is not allowed');
  return { pid, allocator, trim: { available: true } };
}

/**
 * Makes the process's allocator give its free pages back to the system, called inside `pid`
 * through lldb: glibc `malloc_trim(0)` (the free memory at the top of each arena and whole free
 * pages inside them), jemalloc `mallctl("arena.4096.purge")` (every arena's dirty pages), tcmalloc
 * `MallocExtension_ReleaseFreeMemory()`. Reports RSS before and after. Refuses processes with no
 * allocator it can drive (musl, static binaries) before attaching.
 */
export async function nativeTrim(pid: number, options: NativeTrimOptions): Promise<NativeTrimResult> {
  if (options.intrusive !== true) {
    throw new MemwardenError(
      'MW_USAGE',
      'malloc_trim runs code inside the target: pass { intrusive: true } to allow it',
    );
  }
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const record = checkTarget(pid, options.expect);
  const identity: ProcessIdentity = { pid, startTicks: record.startTicks };
  const allocator = detectAllocator(pid);
  if (allocator === undefined) {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is ${noAllocatorReason(pid)}`);
  }
  const ptrace = ptracePreflight(record.uid);
  if (!ptrace.allowed) {
    throw new MemwardenError('MW_PERMISSION', `cannot ptrace pid ${pid}: ${ptrace.reason ?? 'not allowed'}`);
  }
  return exclusively(pid, async () => {
    recheckIdentity(identity);
    if (detectAllocator(pid)?.name !== allocator.name) {
      throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} exec'd into a program with another allocator`);
    }
    const run = await runLldb(
      pid,
      [lldbExpression(allocator.expression, timeoutMs), 'process detach'],
      options.lldbPath === undefined ? { timeoutMs } : { timeoutMs, lldbPath: options.lldbPath },
    );
    const failure = lldbFailure(run, pid, allocator.call);
    if (failure) throw failure;
    if (run.targetState === undefined) {
      throw new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during or right after ${allocator.call}`);
    }
    // The one value read from lldb's output: there is no other channel for a C return value.
    const returned = expressionValue(run.output);
    const released = returned === undefined ? undefined : allocator.released(returned);
    const rssAfterBytes = rssOf(pid);
    return {
      pid,
      path: 'lldb',
      allocator: allocator.name,
      call: allocator.call,
      ...(released === undefined ? {} : { released }),
      ...(record.rss === undefined ? {} : { rssBeforeBytes: record.rss }),
      ...(rssAfterBytes === undefined ? {} : { rssAfterBytes }),
      durationMs: performance.now() - started,
    };
  });
}
