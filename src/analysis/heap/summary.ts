import type { DominatorTree } from './dominators.js';
import { classKeys, className, type HeapSnapshot } from './snapshot.js';

export interface ClassSummary {
  /** Constructor name, or `(type)` for engine kinds; see `className`. */
  name: string;
  count: number;
  selfSizeBytes: number;
  /**
   * Bytes freed if every instance went: the retained sizes of the instances not already
   * dominated by another instance of the same class (so nested ones are not counted twice).
   * Present when a dominator tree was given.
   */
  retainedSizeBytes?: number;
}

/** Instances, self size and retained size per class, largest self size first. */
export function summarizeByClass(snapshot: HeapSnapshot, dominators?: DominatorTree): ClassSummary[] {
  const { keys, keyCount } = classKeys(snapshot);
  const counts = new Uint32Array(keyCount);
  const selfBytes = new Float64Array(keyCount);
  const firstNode = new Int32Array(keyCount).fill(-1);
  for (let node = 0; node < snapshot.nodeCount; node++) {
    const key = keys[node]!;
    counts[key]!++;
    selfBytes[key] = selfBytes[key]! + snapshot.nodeSelfSizeBytes[node]!;
    if (firstNode[key] === -1) firstNode[key] = node;
  }
  const retainedBytes = dominators ? retainedByClass(snapshot, dominators, keys, keyCount) : undefined;
  const summaries: ClassSummary[] = [];
  for (let key = 0; key < keyCount; key++) {
    const node = firstNode[key]!;
    if (node === -1) continue;
    const summary: ClassSummary = {
      name: className(snapshot, node),
      count: counts[key]!,
      selfSizeBytes: selfBytes[key]!,
    };
    if (retainedBytes) summary.retainedSizeBytes = retainedBytes[key]!;
    summaries.push(summary);
  }
  return summaries.sort((a, b) => b.selfSizeBytes - a.selfSizeBytes);
}

/**
 * Retained bytes per class key. A node counts for its class unless a dominator above it has the
 * same class (and is `selected` too, when a filter is given). One depth-first walk of the
 * dominator tree with a per-class count of open ancestors answers that for every node in
 * linear time.
 */
export function retainedByClass(
  snapshot: HeapSnapshot,
  dominators: DominatorTree,
  keys: Uint32Array,
  keyCount: number,
  selected?: (node: number) => boolean,
): Float64Array {
  const { dominator, retainedSizeBytes } = dominators;
  const retained = new Float64Array(keyCount);
  const childStart = new Uint32Array(snapshot.nodeCount + 1);
  for (let node = 0; node < snapshot.nodeCount; node++) {
    const parent = dominator[node]!;
    if (parent !== node && parent < snapshot.nodeCount) childStart[parent + 1]!++;
  }
  for (let node = 0; node < snapshot.nodeCount; node++) {
    childStart[node + 1] = childStart[node + 1]! + childStart[node]!;
  }
  const children = new Uint32Array(childStart[snapshot.nodeCount]!);
  const fillAt = childStart.slice(0, snapshot.nodeCount);
  for (let node = 0; node < snapshot.nodeCount; node++) {
    const parent = dominator[node]!;
    if (parent !== node && parent < snapshot.nodeCount) children[fillAt[parent]!++] = node;
  }
  const openDepth = new Uint32Array(keyCount);
  const stackNode = new Uint32Array(snapshot.nodeCount);
  const stackChild = new Uint32Array(snapshot.nodeCount);
  const stackCounted = new Uint8Array(snapshot.nodeCount);
  let depth = 0;
  const enter = (node: number) => {
    const key = keys[node]!;
    const counted = selected === undefined || selected(node);
    if (counted) {
      if (openDepth[key] === 0) retained[key] = retained[key]! + retainedSizeBytes[node]!;
      openDepth[key]!++;
    }
    stackCounted[depth] = counted ? 1 : 0;
    stackNode[depth] = node;
    stackChild[depth] = childStart[node]!;
    depth++;
  };
  for (let root = 0; root < snapshot.nodeCount; root++) {
    // Tree roots: the snapshot root and every node no strong path reaches (its own root).
    if (dominator[root] !== root && dominator[root]! < snapshot.nodeCount) continue;
    enter(root);
    while (depth > 0) {
      const node = stackNode[depth - 1]!;
      const next = stackChild[depth - 1]!;
      if (next < childStart[node + 1]!) {
        stackChild[depth - 1] = next + 1;
        enter(children[next]!);
      } else {
        if (stackCounted[depth - 1] === 1) openDepth[keys[node]!]!--;
        depth--;
      }
    }
  }
  return retained;
}
