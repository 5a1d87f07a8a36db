/**
 * Python heap diffs: which types grew between two snapshots of a live interpreter (object counts
 * from the collector, own sizes), and which allocation sites grew (tracemalloc).
 */
export {
  diffPythonSnapshots,
  type PythonDiffOptions,
  type PythonGrowth,
  type PythonHeapCounts,
} from './diff.js';
