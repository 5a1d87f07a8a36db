import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffSnapshots } from '../analysis/heap/index.js';
import { diffPythonSnapshots } from '../analysis/python/index.js';
import { MemwardenError } from '../errors.js';
import { type ProcessIdentity, ProcReader } from '../proc/index.js';
import { detectRuntime } from './detect.js';
import { resolveTarget } from './dispatch.js';

import { nodeHeapSnapshots } from './node/index.js';
import { PYTHON_SNAPSHOT_TYPES, pythonSnapshot } from './python/index.js';

/** Per snapshot, when the caller gives no timeout. */
const SNAPSHOT_TIMEOUT_MS = 60_000;

export interface LeakGrowth {
  /** A constructor (Node) or a Python type. */
  name: string;
  countDelta: number;
  sizeDelta: number;
  /** Node: the path from a GC root to a sample object, as node and edge names. Python: `file:line` sites. */
  retainers: string[];
}

export interface LeakReport {
  runtime: 'node' | 'python';
  pid: number;
  durationMs: number;
  growing: LeakGrowth[];
}

export interface HuntOptions {
  durationMs: number;
  /** For each snapshot. */
  timeoutMs?: number;
  onProgress?: (message: string) => void;
  /** Keep the Node snapshots there instead of in a temporary directory removed afterwards. */
  keepDir?: string;
}

/** One runtime's way of watching a heap over a duration. */
type Hunter = (target: ProcessIdentity, options: HuntOptions) => Promise<LeakReport>;

function wait(ms: number, options: HuntOptions): Promise<void> {
  options.onProgress?.(`waiting ${Math.round(ms / 1000)}s`);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function timeout(options: HuntOptions): { timeoutMs?: number } {
  return options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };
}

/**
 * Node: three heap snapshots spread over the duration, and the objects allocated between the
 * first and the second that are still alive in the third, by constructor, each with the path
 * that keeps a sample of them alive.
 */
const huntNode: Hunter = async (target, options) => {
  const started = performance.now();
  const dir = options.keepDir ?? mkdtempSync(join(tmpdir(), 'memwarden-leaks-'));
  const reader = new ProcReader();
  try {
    const { info } = resolveTarget(target, 'snapshot', reader);
    const paths = [1, 2, 3].map((i) => join(dir, `${target.pid}-${i}.heapsnapshot`));
    options.onProgress?.(
      `3 snapshots, ${Math.round(options.durationMs / 2000)}s apart, in one inspector session`,
    );
    await nodeHeapSnapshots(info, paths, {
      reader,
      gapMs: options.durationMs / 2,
      // The session lasts the whole hunt, the snapshots included.
      timeoutMs: (options.timeoutMs ?? SNAPSHOT_TIMEOUT_MS) * 3 + options.durationMs,
    });
    options.onProgress?.('comparing the snapshots');
    // A leak of small objects grows by count long before it grows by kilobytes: here only the
    // count has to rise above the churn of taking the snapshots.
    const diff = await diffSnapshots(paths, { minSizeDeltaBytes: 0 });
    const growing = diff.growing.map((g) => ({
      name: g.name,
      countDelta: g.countDelta,
      sizeDelta: g.sizeDelta,
      retainers: g.retainers,
    }));
    return { runtime: 'node', pid: target.pid, durationMs: performance.now() - started, growing };
  } finally {
    reader.close();
    if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * Python: a snapshot now (it starts tracemalloc), another after the duration, and the types and
 * allocation sites that grew in between.
 */
const huntPython: Hunter = async (target, options) => {
  const started = performance.now();
  const snapshotOptions = { top: PYTHON_SNAPSHOT_TYPES, expect: target, ...timeout(options) };
  options.onProgress?.('first snapshot (starts tracemalloc)');
  const before = await pythonSnapshot(target.pid, snapshotOptions);
  await wait(options.durationMs, options);
  options.onProgress?.('second snapshot');
  const after = await pythonSnapshot(target.pid, snapshotOptions);
  return {
    runtime: 'python',
    pid: target.pid,
    durationMs: performance.now() - started,
    growing: diffPythonSnapshots(before, after),
  };
};

/** Watches a Node.js or Python process's heap for `durationMs` and says what grew. */
export async function huntLeaks(pid: number, options: HuntOptions): Promise<LeakReport> {
  const info = detectRuntime(pid);
  if (!info) throw new MemwardenError('MW_NO_PROCESS', `no process with pid ${pid}`);
  if (info.protectedReason)
    throw new MemwardenError('MW_PROTECTED', `pid ${pid} is never probed: ${info.protectedReason}`);
  const target = { pid, startTicks: info.startTicks };
  if (info.runtime === 'node') return huntNode(target, options);
  if (info.runtime === 'python') return huntPython(target, options);
  throw new MemwardenError(
    'MW_UNSUPPORTED',
    `pid ${pid} (${info.name}) is ${info.runtime}: leak hunts need a Node.js or Python heap`,
  );
}
