/**
 * V8 heap snapshots: a streaming `.heapsnapshot` reader that builds the object graph in typed
 * arrays, the dominator tree with retained sizes, totals per constructor, shortest retainer
 * paths from the root, and the diff of two or three snapshots of one process (the 3-snapshot
 * technique) that `diff` and `leaks` print. Pure: it reads only the files it is handed, and a
 * file that is not a complete snapshot is a MW_INPUT error naming the file and byte offset.
 */
export {
  DEFAULT_GROWING_LIMIT,
  DEFAULT_MIN_COUNT_DELTA,
  DEFAULT_MIN_SIZE_DELTA_BYTES,
  type DiffOptions,
  type DiffProgress,
  diffSnapshots,
  type GrowingClass,
  type HeapDiff,
  type SnapshotInfo,
} from './diff.js';
export { computeDominators, type DominatorTree, NO_DOMINATOR } from './dominators.js';
export { type ReadOptions, type ReadProgress, readHeapSnapshot } from './parser.js';
export { buildRetainerTree, type RetainerTree, retainerPath } from './retainers.js';
export { className, edgeName, type HeapSnapshot, ROOT_NODE_INDEX } from './snapshot.js';
export { type ClassSummary, summarizeByClass } from './summary.js';
