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
 * Immediate dominators by Semi-NCA (Lengauer–Tarjan's semidominators with path compression,
 * then nearest common ancestors; fast on graphs like heaps) and retained sizes by summing up
 * the tree. The work lives in typed arrays indexed
 * by DFS number (1-based, 0 means "none"), and each step is its own function so that its
 * scratch arrays are garbage before the next step allocates: peak memory is what the issue
 * budgets most tightly.
 */
export function computeDominators(snapshot: HeapSnapshot): DominatorTree {
  const strong = strongEdgeTypes(snapshot);
  const numbering = numberFromRoot(snapshot, strong);
  const { count, vertex } = numbering;
  const predecessors = predecessorsOf(snapshot, strong, numbering);
  const idom = immediateDominators(numbering, predecessors);
  // The node → DFS number map has served: its array becomes the result.
  return treeOverNodes(snapshot, count, vertex, idom, numbering.dfsNumber);
}

interface Numbering {
  count: number;
  /** Node index → DFS number; 0 for a node the walk never reached. */
  dfsNumber: Uint32Array;
  /** DFS number → node index. */
  vertex: Uint32Array;
  /** DFS number → the DFS number of its parent in the walk. */
  parent: Uint32Array;
  /** The walk's stack, free once it is done, for a later step's scratch. */
  spare: Uint32Array;
  /** DFS number → how many strong edges point at it, counted on the way. */
  inDegree: Uint32Array;
}

function numberFromRoot(snapshot: HeapSnapshot, strong: Uint8Array): Numbering {
  const { nodeCount, firstEdge, edgeTarget, edgeType } = snapshot;
  const dfsNumber = new Uint32Array(nodeCount + 1);
  const vertex = new Uint32Array(nodeCount + 1);
  const parent = new Uint32Array(nodeCount + 1);
  const stackNode = new Uint32Array(nodeCount + 1);
  const stackEdge = new Uint32Array(nodeCount + 1);
  const inDegreeByNode = new Uint32Array(nodeCount);
  let count = 1;
  dfsNumber[ROOT_NODE_INDEX] = count;
  vertex[count] = ROOT_NODE_INDEX;
  stackNode[0] = ROOT_NODE_INDEX;
  stackEdge[0] = firstEdge[ROOT_NODE_INDEX]!;
  let depth = 1;
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
    inDegreeByNode[target]!++;
    if (dfsNumber[target] !== 0) continue;
    dfsNumber[target] = ++count;
    vertex[count] = target;
    parent[count] = dfsNumber[node]!;
    stackNode[depth] = target;
    stackEdge[depth] = firstEdge[target]!;
    depth++;
  }
  // One spare slot in front and one behind, for `predecessorsOf` to turn it into offsets.
  const inDegree = new Uint32Array(count + 2);
  for (let v = 1; v <= count; v++) inDegree[v] = inDegreeByNode[vertex[v]!]!;
  return { count, dfsNumber, vertex, parent, spare: stackNode, inDegree };
}

/** Strong predecessors of each reached node as DFS numbers: `list[start[w] .. start[w + 1])`. */
function predecessorsOf(
  snapshot: HeapSnapshot,
  strong: Uint8Array,
  { count, dfsNumber, inDegree }: Numbering,
): { start: Uint32Array; list: Uint32Array } {
  const { firstEdge, edgeTarget, edgeType } = snapshot;
  const start = inDegree;
  const nodeCount = snapshot.nodeCount;
  // Running ends first, then each insertion steps its node's cursor back, which leaves `start`
  // holding the starts without a second cursor array.
  for (let w = 1; w <= count + 1; w++) start[w] = start[w]! + start[w - 1]!;
  const list = new Uint32Array(start[count + 1]!);
  // Nodes in file order, not DFS order: the edge arrays are then read front to back.
  for (let node = 0; node < nodeCount; node++) {
    const v = dfsNumber[node]!;
    if (v === 0) continue;
    for (let edge = firstEdge[node]!, last = firstEdge[node + 1]!; edge < last; edge++) {
      if (strong[edgeType[edge]!] === 1) {
        const w = dfsNumber[edgeTarget[edge]!]!;
        start[w] = start[w]! - 1;
        list[start[w]!] = v;
      }
    }
  }
  return { start, list };
}

/**
 * Semidominators as in Lengauer–Tarjan, then immediate dominators by the Semi-NCA rule: the
 * idom of `w` is the nearest common ancestor, in the dominator tree built so far, of its DFS
 * parent and its semidominator. That replaces Lengauer–Tarjan's buckets (memory, and a second
 * path evaluation per node) with a short walk up the tree. Returns `parent` overwritten with
 * the immediate dominators, by DFS number: a node's parent is last read as the walk's start.
 */
function immediateDominators(
  { count, parent, spare }: Numbering,
  preds: { start: Uint32Array; list: Uint32Array },
): Uint32Array {
  const semi = new Uint32Array(count + 1);
  const label = new Uint32Array(count + 1);
  const ancestor = new Uint32Array(count + 1);
  const compressStack = spare;
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

  const { start, list } = preds;
  for (let w = count; w >= 2; w--) {
    let best = semi[w]!;
    for (let i = start[w]!, last = start[w + 1]!; i < last; i++) {
      const candidate = semi[evaluate(list[i]!)]!;
      if (candidate < best) best = candidate;
    }
    semi[w] = best;
    ancestor[w] = parent[w]!;
  }
  const idom = parent;
  for (let w = 2; w <= count; w++) {
    const s = semi[w]!;
    let x = idom[w]!;
    while (x > s) x = idom[x]!;
    idom[w] = x;
  }
  return idom;
}

/**
 * Back to node indices. A dominator always has a smaller DFS number than the nodes it
 * dominates, so one backward sweep adds every subtree into its root.
 */
function treeOverNodes(
  snapshot: HeapSnapshot,
  count: number,
  vertex: Uint32Array,
  idom: Uint32Array,
  scratch: Uint32Array,
): DominatorTree {
  const dominator = scratch.subarray(0, snapshot.nodeCount).fill(NO_DOMINATOR);
  const retainedSizeBytes = new Float64Array(snapshot.nodeSelfSizeBytes);
  dominator[ROOT_NODE_INDEX] = ROOT_NODE_INDEX;
  for (let w = count; w >= 2; w--) {
    const node = vertex[w]!;
    const dom = vertex[idom[w]!]!;
    dominator[node] = dom;
    retainedSizeBytes[dom] = retainedSizeBytes[dom]! + retainedSizeBytes[node]!;
  }
  return { dominator, retainedSizeBytes, reachableCount: count };
}
