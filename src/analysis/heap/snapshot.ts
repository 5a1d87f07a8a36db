/**
 * A parsed V8 heap snapshot as columns of typed arrays: one slot per node and one per edge, so a
 * graph of millions of objects costs a few bytes per element instead of a JS object each.
 * Edges of node `i` are `firstEdge[i] .. firstEdge[i + 1] - 1`; `edgeTarget` holds node indices
 * (not the file's field offsets).
 */
export interface HeapSnapshot {
  /** The file it was read from, for messages. */
  path: string;
  fileSizeBytes: number;
  nodeCount: number;
  edgeCount: number;
  /** Index into `nodeTypeNames`. */
  nodeType: Uint8Array;
  /** Index into `strings`. */
  nodeName: Uint32Array;
  /** V8's object id: stable across snapshots of one process, so diffs can match objects. */
  nodeId: Uint32Array;
  nodeSelfSizeBytes: Float64Array;
  /** Length nodeCount + 1. */
  firstEdge: Uint32Array;
  /** Index into `edgeTypeNames`. */
  edgeType: Uint8Array;
  /** A string index for named edges, the element index for `element` and `hidden` edges. */
  edgeNameOrIndex: Uint32Array;
  edgeTarget: Uint32Array;
  strings: string[];
  nodeTypeNames: readonly string[];
  edgeTypeNames: readonly string[];
}

/** V8 writes the synthetic root first. */
export const ROOT_NODE_INDEX = 0;

/** Type index, or -1 when this snapshot's meta does not list the type. */
export function typeIndex(names: readonly string[], name: string): number {
  return names.indexOf(name);
}

/** Edge types whose `name_or_index` is a number rather than a string index. */
export function isIndexEdge(snapshot: HeapSnapshot, edge: number): boolean {
  const type = snapshot.edgeTypeNames[snapshot.edgeType[edge]!];
  return type === 'element' || type === 'hidden';
}

export function edgeName(snapshot: HeapSnapshot, edge: number): string {
  const nameOrIndex = snapshot.edgeNameOrIndex[edge]!;
  if (isIndexEdge(snapshot, edge)) return `[${nameOrIndex}]`;
  return snapshot.strings[nameOrIndex] ?? `[${nameOrIndex}]`;
}

/**
 * The name objects are grouped under, as DevTools and memlab do: the constructor name for JS
 * objects and native objects, the root names for synthetic nodes, and `(type)` for everything
 * else, because a string's or a code object's "name" is its content, not its kind.
 */
export function className(snapshot: HeapSnapshot, node: number): string {
  const type = snapshot.nodeTypeNames[snapshot.nodeType[node]!];
  switch (type) {
    case 'object':
    case 'native':
    case 'synthetic':
      return snapshot.strings[snapshot.nodeName[node]!] || `(${type})`;
    case 'hidden':
      return '(system)';
    case 'code':
      return '(compiled code)';
    default:
      return `(${type ?? 'unknown'})`;
  }
}

/**
 * A number per node that is equal exactly when `className` is: the name's string index for
 * named kinds, `strings.length + type` for the rest. Lets hot loops aggregate into typed arrays
 * without building a string per node.
 */
export function classKeys(snapshot: HeapSnapshot): { keys: Uint32Array; keyCount: number } {
  const named = new Uint8Array(snapshot.nodeTypeNames.length);
  for (const name of ['object', 'native', 'synthetic']) {
    const index = typeIndex(snapshot.nodeTypeNames, name);
    if (index >= 0) named[index] = 1;
  }
  const stringCount = snapshot.strings.length;
  const keys = new Uint32Array(snapshot.nodeCount);
  for (let node = 0; node < snapshot.nodeCount; node++) {
    const type = snapshot.nodeType[node]!;
    keys[node] = named[type] === 1 ? snapshot.nodeName[node]! : stringCount + type;
  }
  return { keys, keyCount: stringCount + snapshot.nodeTypeNames.length };
}
