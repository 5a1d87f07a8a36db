import { basename } from 'node:path';
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
import { checkTarget, exclusively, mappedFiles, recheckIdentity, rssOf } from '../target-checks.js';

const DEFAULT_TIMEOUT_MS = 15_000;

export interface NativeTrimOptions {
  /**
   * Must be true. malloc_trim runs inside the target at whatever point ptrace stopped it: if that
   * is inside malloc, the call deadlocks on the arena lock until the timeout unwinds it. Callers
   * opt in knowingly.
   */
  intrusive: boolean;
  /** Attach, call, detach. Default 15 s. */
  timeoutMs?: number;
  /** The process the caller decided about: refused with MW_NO_PROCESS if the pid now names another. */
  expect?: ProcessIdentity;
  /** The lldb executable, when not the one on PATH. */
  lldbPath?: string;
}

export interface NativeTrimResult {
  pid: number;
  path: 'lldb';
  /** What malloc_trim returned: true when it gave memory back to the system. */
  released?: boolean;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  durationMs: number;
}

export interface NativeProbes {
  pid: number;
  /** The glibc mapped into the process, when there is one. */
  glibc?: string;
  trim: { available: boolean; reason?: string };
}

/** Whether `malloc_trim` can be called in `pid`, and why not. Never attaches. */
export function nativeProbes(pid: number, options: Pick<NativeTrimOptions, 'lldbPath'> = {}): NativeProbes {
  let uid: number;
  try {
    uid = checkTarget(pid).uid;
  } catch (err) {
    if (err instanceof MemwardenError) return { pid, trim: { available: false, reason: err.message } };
    throw err;
  }
  const glibc = glibcOf(pid);
  const no = (reason: string): NativeProbes => ({
    pid,
    ...(glibc === undefined ? {} : { glibc }),
    trim: { available: false, reason },
  });
  if (glibc === undefined) return no(notGlibc(pid));
  if ((options.lldbPath ?? findLldb()) === undefined) return no(LLDB_NOT_FOUND);
  const ptrace = ptracePreflight(uid);
  if (!ptrace.allowed) return no(ptrace.reason ?? 'ptrace is not allowed');
  return { pid, glibc, trim: { available: true } };
}

/**
 * Calls glibc's `malloc_trim(0)` inside `pid` through lldb, giving the free memory at the top of
 * each arena and free whole pages inside them back to the system, and reports RSS before and
 * after. Refuses processes that do not use glibc's allocator (musl, static binaries).
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
  if (glibcOf(pid) === undefined)
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is ${notGlibc(pid)}`);
  const ptrace = ptracePreflight(record.uid);
  if (!ptrace.allowed) {
    throw new MemwardenError('MW_PERMISSION', `cannot ptrace pid ${pid}: ${ptrace.reason ?? 'not allowed'}`);
  }
  return exclusively(pid, async () => {
    recheckIdentity(identity);
    if (glibcOf(pid) === undefined)
      throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} exec'd into a program without glibc`);
    const run = await runLldb(
      pid,
      [lldbExpression('(int)malloc_trim(0)', timeoutMs), 'process detach'],
      options.lldbPath === undefined ? { timeoutMs } : { timeoutMs, lldbPath: options.lldbPath },
    );
    const failure = lldbFailure(run, pid, 'malloc_trim');
    if (failure) throw failure;
    if (run.targetState === undefined) {
      throw new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during or right after malloc_trim`);
    }
    // The one value read from lldb's output: there is no other channel for a C return value.
    const returned = expressionValue(run.output);
    const rssAfterBytes = rssOf(pid);
    return {
      pid,
      path: 'lldb',
      ...(returned === undefined ? {} : { released: returned === 1 }),
      ...(record.rss === undefined ? {} : { rssBeforeBytes: record.rss }),
      ...(rssAfterBytes === undefined ? {} : { rssAfterBytes }),
      durationMs: performance.now() - started,
    };
  });
}

function glibcOf(pid: number): string | undefined {
  return mappedFiles(pid)?.find((file) => basename(file) === 'libc.so.6');
}

function notGlibc(pid: number): string {
  const files = mappedFiles(pid);
  if (files === undefined) return 'not readable (its memory map is denied or gone)';
  if (files.some((file) => basename(file).startsWith('ld-musl'))) return 'linked against musl, not glibc';
  return 'not dynamically linked against glibc (no libc.so.6 mapped)';
}
