import { readText } from './files.js';

/**
 * A process's `oom_score_adj` (-1000…1000): how much its owner wants the kernel's OOM killer to
 * spare (negative) or pick (positive) it. Undefined when the process is gone.
 */
export function readOomScoreAdj(pid: number, root = '/proc'): number | undefined {
  const text = readText(`${root}/${pid}/oom_score_adj`, 32);
  if (typeof text !== 'string') return undefined;
  const value = Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : undefined;
}
