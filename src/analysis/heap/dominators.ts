import { type HeapSnapshot, ROOT_NODE_INDEX, typeIndex } from './snapshot.js';

/** Marks a node no strong path from the root reaches. */
export const NO_DOMINATOR = 0xffffffff;

export interface DominatorTree {
  /** Immediate dominator of each node (node index); the root is its own; NO_DOMINATOR if unreachable. */
  dominator: Uint32Array;
  /** Bytes freed if the node were gone: its self size plus that of every node it dominates. */
  retainedSizeBytes: Float64Array;
  /** Nodes reachable from the root over strong edges. */
  reachableCount: number;
}

/**
 * A mask over edge types: 1 where an edge keeps its target alive. Weak edges do not, so they
 * neither dominate nor retain (DevTools and memlab treat them the same way).
 */
export function strongEdgeTypes(snapshot: HeapSnapshot): Uint8Array {
  const strong = new Uint8Array(snapshot.edgeTypeNames.length).fill(1);
  const weak = typeIndex(snapshot.edgeTypeNames, 'weak');
  if (weak >= 0) strong[weak] = 0;
  return strong;
}

/**
 * Immediate dominators by Lengauer–Tarjan (the simple version with path compression,
 * O(E log N)) and retained sizes by summing up the tree. Everything lives in typed arrays
 * indexed by DFS number (1-based, 0 means "none") so the only per-node cost is a few words.
 */
export function computeDominators(snapshot: HeapSnapshot): DominatorTree {
  const { nodeCount, firstEdge, edgeTarget, edgeType } = snapshot;
  const strong = strongEdgeTypes(snapshot);

  // 1. Depth-first numbering from the root over strong edges.
  const dfsNumber = new Uint32Array(nodeCount);
  const vertex = new Uint32Array(nodeCount + 1);
  const parent = new Uint32Array(nodeCount + 1);
  const stackNode = new Uint32Array(nodeCount);
  const stackEdge = new Uint32Array(nodeCount + 1);
  let count = 0;
  let depth = 0;
  dfsNumber[ROOT_NODE_INDEX] = ++count;
  vertex[count] = ROOT_NODE_INDEX;
  stackNode[0] = ROOT_NODE_INDEX;
  stackEdge[0] = firstEdge[ROOT_NODE_INDEX]!;
  depth = 1;
  while (depth > 0) {
    const node = stackNode[depth - 1]!;
    const edge = stackEdge[depth - 1]!;
    if (edge >= firstEdge[node + 1]!) {
      depth--;
      continue;
    }
    stackEdge[depth - 1] = edge + 1;
    if (strong[edgeType[edge]!] === 0) continue;
    const target = edgeTarget[edge]!;
    if (dfsNumber[target] !== 0) continue;
    dfsNumber[target] = ++count;
    vertex[count] = target;
    parent[count] = dfsNumber[node]!;
    stackNode[depth] = target;
    stackEdge[depth] = firstEdge[target]!;
    depth++;
  }

  // 2. Predecessors of every reached node, as DFS numbers, in one flat array.
  const predStart = new Uint32Array(count + 2);
  for (let v = 1; v <= count; v++) {
    const node = vertex[v]!;
    for (let edge = firstEdge[node]!, last = firstEdge[node + 1]!; edge < last; edge++) {
      if (strong[edgeType[edge]!] === 1) predStart[dfsNumber[edgeTarget[edge]!]! + 1]!++;
    }
  }
  for (let v = 1; v <= count + 1; v++) predStart[v] = predStart[v]! + predStart[v - 1]!;
  const preds = new Uint32Array(predStart[count + 1]!);
  const fillAt = predStart.slice(0, count + 1);
  for (let v = 1; v <= count; v++) {
    const node = vertex[v]!;
    for (let edge = firstEdge[node]!, last = firstEdge[node + 1]!; edge < last; edge++) {
      if (strong[edgeType[edge]!] === 1) {
        const w = dfsNumber[edgeTarget[edge]!]!;
        preds[fillAt[w]!++] = v;
      }
    }
  }
  // The numbering stack is free now: reuse it as the path-compression stack.
  const compressStack = stackNode;
  stackEdge.fill(0);

  // 3. Semidominators, then immediate dominators.
  const semi = new Uint32Array(count + 1);
  const label = new Uint32Array(count + 1);
  const ancestor = new Uint32Array(count + 1);
  const idom = new Uint32Array(count + 1);
  const bucketHead = new Uint32Array(count + 1);
  const bucketNext = stackEdge;
  for (let v = 1; v <= count; v++) {
    semi[v] = v;
    label[v] = v;
  }

  const evaluate = (v: number): number => {
    if (ancestor[v] === 0) return v;
    let sp = 0;
    let x = v;
    while (ancestor[ancestor[x]!] !== 0) {
      compressStack[sp++] = x;
      x = ancestor[x]!;
    }
    while (sp > 0) {
      x = compressStack[--sp]!;
      const a = ancestor[x]!;
      if (semi[label[a]!]! < semi[label[x]!]!) label[x] = label[a]!;
      ancestor[x] = ancestor[a]!;
    }
    return label[v]!;
  };

  for (let w = count; w >= 2; w--) {
    for (let i = predStart[w]!, last = predStart[w + 1]!; i < last; i++) {
      const u = evaluate(preds[i]!);
      if (semi[u]! < semi[w]!) semi[w] = semi[u]!;
    }
    const s = semi[w]!;
    bucketNext[w] = bucketHead[s]!;
    bucketHead[s] = w;
    const p = parent[w]!;
    ancestor[w] = p;
    for (let v = bucketHead[p]!; v !== 0; v = bucketNext[v]!) {
      const u = evaluate(v);
      idom[v] = semi[u]! < semi[v]! ? u : p;
    }
    bucketHead[p] = 0;
  }
  for (let w = 2; w <= count; w++) {
    if (idom[w] !== semi[w]) idom[w] = idom[idom[w]!]!;
  }

  // 4. Back to node indices; a dominator always has a smaller DFS number, so one backward
  // sweep adds every subtree into its root.
  const dominator = new Uint32Array(nodeCount).fill(NO_DOMINATOR);
  const retainedSizeBytes = Float64Array.from(snapshot.nodeSelfSizeBytes);
  dominator[ROOT_NODE_INDEX] = ROOT_NODE_INDEX;
  for (let w = count; w >= 2; w--) {
    const node = vertex[w]!;
    const dom = vertex[idom[w]!]!;
    dominator[node] = dom;
    retainedSizeBytes[dom] = retainedSizeBytes[dom]! + retainedSizeBytes[node]!;
  }
  return { dominator, retainedSizeBytes, reachableCount: count };
}
