import { strongEdgeTypes } from './dominators.js';
import { className, edgeName, type HeapSnapshot, ROOT_NODE_INDEX, typeIndex } from './snapshot.js';

/** No retaining edge: the root itself, or a node no strong path reaches. */
const NO_EDGE = 0xffffffff;

/** For every node, the edge by which a breadth-first walk from the root first reached it. */
export interface RetainerTree {
  parentEdge: Uint32Array;
  /** The node that edge leaves, which the snapshot does not store per edge. */
  parentNode: Uint32Array;
}

/**
 * Breadth-first from the root over strong edges, so following `parentEdge` back from any node
 * gives a shortest path that actually keeps it alive.
 */
export function buildRetainerTree(snapshot: HeapSnapshot): RetainerTree {
  const { nodeCount, firstEdge, edgeTarget, edgeType } = snapshot;
  const strong = strongEdgeTypes(snapshot);
  const parentEdge = new Uint32Array(nodeCount).fill(NO_EDGE);
  const parentNode = new Uint32Array(nodeCount);
  const queue = new Uint32Array(nodeCount);
  const seen = new Uint8Array(nodeCount);
  // The stack roots hold whatever the code running at snapshot time had in hand: a path through
  // them names a moment, not an owner. They are walked only after everything else, so an object
  // that a module, a closure or a global also keeps alive is shown through that.
  const stackRoots = snapshot.strings.indexOf('(Stack roots)');
  const deferred: { edge: number; node: number }[] = [];
  let phaseOne = true;
  let head = 0;
  let tail = 0;
  queue[tail++] = ROOT_NODE_INDEX;
  seen[ROOT_NODE_INDEX] = 1;
  for (;;) {
    while (head < tail) {
      const node = queue[head++]!;
      for (let edge = firstEdge[node]!, last = firstEdge[node + 1]!; edge < last; edge++) {
        if (strong[edgeType[edge]!] === 0) continue;
        const target = edgeTarget[edge]!;
        if (seen[target] === 1) continue;
        if (phaseOne && stackRoots >= 0 && snapshot.nodeName[target] === stackRoots) {
          deferred.push({ edge, node });
          continue;
        }
        seen[target] = 1;
        parentEdge[target] = edge;
        parentNode[target] = node;
        queue[tail++] = target;
      }
    }
    if (!phaseOne) break;
    phaseOne = false;
    for (const { edge, node } of deferred) {
      const target = edgeTarget[edge]!;
      if (seen[target] === 1) continue;
      seen[target] = 1;
      parentEdge[target] = edge;
      parentNode[target] = node;
      queue[tail++] = target;
    }
  }
  return { parentEdge, parentNode };
}

/**
 * The shortest path from the root to `node` as node and edge names, ready to join with ` → `:
 * `(root) → (GC roots) → global → cache → Map → table → SessionRecord`. Arrays and other
 * engine-internal nodes between two named hops are left out with the edge that leaves them, the
 * way a user thinks of `Map → table → value` rather than of the hash table's backing store, and
 * the root groups appear without their slot numbers.
 * Undefined when no strong path reaches the node.
 */
export function retainerPath(snapshot: HeapSnapshot, tree: RetainerTree, node: number): string[] | undefined {
  if (node !== ROOT_NODE_INDEX && tree.parentEdge[node] === NO_EDGE) return undefined;
  const plumbing = new Set(
    ['array', 'hidden', 'code', 'object shape'].map((t) => typeIndex(snapshot.nodeTypeNames, t)),
  );
  const synthetic = typeIndex(snapshot.nodeTypeNames, 'synthetic');
  const reversed: string[] = [nodeLabel(snapshot, node)];
  let current = node;
  for (let edge = tree.parentEdge[current]!; edge !== NO_EDGE; edge = tree.parentEdge[current]!) {
    const source = tree.parentNode[current]!;
    const sourceIsPlumbing = source !== ROOT_NODE_INDEX && plumbing.has(snapshot.nodeType[source]!);
    if (sourceIsPlumbing) {
      // Left out with the edge that leaves it.
    } else if (snapshot.nodeType[source] === synthetic || source === ROOT_NODE_INDEX) {
      // Root groups number their edges by slot (`[7]`, `24`), which tells a reader nothing.
      reversed.push(nodeLabel(snapshot, source));
    } else {
      reversed.push(edgeName(snapshot, edge), nodeLabel(snapshot, source));
    }
    current = source;
  }
  return reversed.reverse();
}

function nodeLabel(snapshot: HeapSnapshot, node: number): string {
  return node === ROOT_NODE_INDEX ? '(root)' : className(snapshot, node);
}
