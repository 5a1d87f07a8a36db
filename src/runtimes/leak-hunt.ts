import { diffPythonSnapshots } from '../analysis/python/index.js';
import { MemwardenError } from '../errors.js';
import { pythonInfo, pythonSnapshot } from './python/index.js';

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
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

/** One runtime's way of watching a heap over a duration. */
export type Hunter = (pid: number, options: HuntOptions) => Promise<LeakReport>;

const PYTHON_TYPES_KEPT = 1000;

/**
 * Python: a snapshot now (it starts tracemalloc), another after the duration, and the types and
 * allocation sites that grew in between.
 */
export const huntPython: Hunter = async (pid, options) => {
  const started = performance.now();
  const snapshotOptions = {
    top: PYTHON_TYPES_KEPT,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  options.onProgress?.('first snapshot (starts tracemalloc)');
  const before = await pythonSnapshot(pid, snapshotOptions);
  options.onProgress?.(`waiting ${Math.round(options.durationMs / 1000)}s`);
  await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  options.onProgress?.('second snapshot');
  const after = await pythonSnapshot(pid, snapshotOptions);
  return {
    runtime: 'python',
    pid,
    durationMs: performance.now() - started,
    growing: diffPythonSnapshots(before, after),
  };
};

/** Picks the hunter for the pid's runtime, or says why there is none. */
export function hunterFor(pid: number, node: Hunter | undefined): Hunter {
  if (pythonInfo(pid)) return huntPython;
  if (node) return node;
  throw new MemwardenError(
    'MW_UNSUPPORTED',
    `pid ${pid} is neither a Node.js nor a Python process: no heap to hunt in`,
  );
}
