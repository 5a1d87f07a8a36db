import { computeDominators } from './dominators.js';
import { type ReadProgress, readHeapSnapshot } from './parser.js';
import { buildRetainerTree, retainerPath } from './retainers.js';
import { classKeys, className, type HeapSnapshot } from './snapshot.js';
import { retainedByClass } from './summary.js';

export interface DiffProgress extends ReadProgress {
  /** 0-based position of the snapshot being read among those given. */
  snapshotIndex: number;
  snapshotCount: number;
}

export interface DiffOptions {
  onProgress?: (progress: DiffProgress) => void;
  /**
   * A class is reported only if it grew by at least this many objects and `minSizeDeltaBytes`.
   * Taking a snapshot itself allocates a little (buffers, strings, compiled code), so an
   * unchanged process shows a few objects of churn; the defaults sit above that noise.
   */
  minCountDelta?: number;
  minSizeDeltaBytes?: number;
  /** At most this many classes in `growing` (default 50); the rest are counted in `omitted`. */
  limit?: number;
}

export interface GrowingClass {
  /** Constructor name, or `(type)` for engine kinds such as `(string)` and `(closure)`. */
  name: string;
  countDelta: number;
  /** Change in the self size of the class's objects, in bytes. */
  sizeDelta: number;
  /**
   * Bytes the new objects of the class hold alive in the last snapshot: their retained sizes,
   * not counting one that another new object of the class already retains.
   */
  retainedSizeDelta: number;
  /**
   * The shortest path from the root to one new object of the class, as node and edge names
   * (join with ` → ` to read it); empty when no new object is reachable.
   */
  retainers: string[];
}

export interface SnapshotInfo {
  path: string;
  fileSizeBytes: number;
  nodeCount: number;
  edgeCount: number;
  selfSizeBytes: number;
}

export interface HeapDiff {
  /**
   * `two-snapshot`: net change per class from the first to the second. `three-snapshot`:
   * objects allocated between the first and the second that are still alive in the third.
   */
  technique: 'two-snapshot' | 'three-snapshot';
  snapshots: SnapshotInfo[];
  /** Named classes first, then engine kinds such as `(array)`; largest retained growth first. */
  growing: GrowingClass[];
  /** Classes that grew past the thresholds but did not fit in `limit`. */
  omitted: number;
}

export const DEFAULT_MIN_COUNT_DELTA = 10;
export const DEFAULT_MIN_SIZE_DELTA_BYTES = 4096;
export const DEFAULT_GROWING_LIMIT = 50;

/**
 * Which objects grew between heap snapshots of one process, by class, with a retainer path of
 * a sample new object. Only one snapshot's graph is in memory at a time: earlier ones are
 * reduced to their sorted object ids (V8 keeps an object's id across snapshots of a process)
 * and class totals before the next one is read.
 */
export async function diffSnapshots(paths: readonly string[], options: DiffOptions = {}): Promise<HeapDiff> {
  if (paths.length !== 2 && paths.length !== 3) {
    throw new RangeError(`diffSnapshots takes 2 or 3 snapshot paths, got ${paths.length}`);
  }
  const snapshots: SnapshotInfo[] = [];
  const read = async (index: number): Promise<HeapSnapshot> => {
    const path = paths[index]!;
    const snapshot = await readHeapSnapshot(path, {
      onProgress: (p) => options.onProgress?.({ ...p, snapshotIndex: index, snapshotCount: paths.length }),
    });
    snapshots.push(describe(snapshot));
    return snapshot;
  };
  const thresholds = {
    minCount: options.minCountDelta ?? DEFAULT_MIN_COUNT_DELTA,
    minBytes: options.minSizeDeltaBytes ?? DEFAULT_MIN_SIZE_DELTA_BYTES,
    limit: options.limit ?? DEFAULT_GROWING_LIMIT,
  };

  // Earlier snapshots are reduced inside a callback so their graphs are garbage before the
  // next file is read.
  const reduce = async <T>(index: number, keep: (snapshot: HeapSnapshot) => T): Promise<T> =>
    keep(await read(index));

  if (paths.length === 2) {
    const before = await reduce(0, (s) => ({
      ids: sortedIds(s, () => true),
      totals: tally(s, () => false).byName,
    }));
    const after = await read(1);
    const isNew = (node: number) => !contains(before.ids, after.nodeId[node]!);
    const result = growth(after, isNew, thresholds, (name, now) => {
      const old = before.totals.get(name)?.totals;
      return {
        countDelta: now.count - (old?.count ?? 0),
        sizeDelta: now.selfSizeBytes - (old?.selfSizeBytes ?? 0),
      };
    });
    return { technique: 'two-snapshot', snapshots, ...result };
  }

  const firstIds = await reduce(0, (s) => sortedIds(s, () => true));
  const newInSecond = await reduce(1, (s) => sortedIds(s, (node) => !contains(firstIds, s.nodeId[node]!)));
  const third = await read(2);
  const isLeaked = (node: number) => contains(newInSecond, third.nodeId[node]!);
  const result = growth(third, isLeaked, thresholds, (_name, now) => ({
    countDelta: now.selectedCount,
    sizeDelta: now.selectedSizeBytes,
  }));
  return { technique: 'three-snapshot', snapshots, ...result };
}

interface ClassTally {
  count: number;
  selfSizeBytes: number;
  selectedCount: number;
  selectedSizeBytes: number;
}

/**
 * Per class of `snapshot`: totals of all objects and of those `selected`, turned into deltas by
 * `delta`, filtered by the thresholds, each with the path of one selected object.
 */
function growth(
  snapshot: HeapSnapshot,
  selected: (node: number) => boolean,
  thresholds: { minCount: number; minBytes: number; limit: number },
  delta: (name: string, tally: ClassTally) => { countDelta: number; sizeDelta: number },
): { growing: GrowingClass[]; omitted: number } {
  const { byName, keys, keyCount } = tally(snapshot, selected);
  const found: (Omit<GrowingClass, 'retainers'> & { candidates: number[]; keys: number[] })[] = [];
  for (const [name, entry] of byName) {
    const d = delta(name, entry.totals);
    if (d.countDelta >= thresholds.minCount && d.sizeDelta >= thresholds.minBytes) {
      found.push({ name, candidates: entry.candidates, keys: entry.keys, ...d, retainedSizeDelta: 0 });
    }
  }
  // The dominator tree is the costly part; an unchanged process does not need it.
  if (found.length === 0) return { growing: [], omitted: 0 };
  const retained = retainedByClass(snapshot, computeDominators(snapshot), keys, keyCount, selected);
  for (const entry of found) {
    for (const key of entry.keys) entry.retainedSizeDelta += retained[key]!;
  }
  found.sort(
    (a, b) =>
      Number(isEngineKind(a.name)) - Number(isEngineKind(b.name)) ||
      b.retainedSizeDelta - a.retainedSizeDelta ||
      b.sizeDelta - a.sizeDelta ||
      b.countDelta - a.countDelta,
  );
  const omitted = Math.max(0, found.length - thresholds.limit);
  found.length -= omitted;
  if (found.length === 0) return { growing: [], omitted };
  const tree = buildRetainerTree(snapshot);
  const growing = found.map(({ name, candidates, countDelta, sizeDelta, retainedSizeDelta }) => {
    let retainers: string[] = [];
    for (const node of candidates) {
      const path = retainerPath(snapshot, tree, node);
      if (path) {
        retainers = path;
        break;
      }
    }
    return { name, countDelta, sizeDelta, retainedSizeDelta, retainers };
  });
  return { growing, omitted };
}

/**
 * `(array)`, `(string)`, `(compiled code)`…: what the engine allocates for the classes a program
 * defines. A grown hash table's new backing store retains every entry, old ones included, so
 * by bytes alone it would outrank the class that leaks; those kinds are listed after the named
 * classes instead.
 */
function isEngineKind(name: string): boolean {
  return name.startsWith('(');
}

/** A few sample candidates per class: the first may be unreachable, about to be collected. */
const SAMPLE_CANDIDATES = 8;

/** Totals per class name, counting in typed arrays first so no string is made per node. */
interface NamedTally {
  totals: ClassTally;
  /** A few selected nodes of the class, to find a retainer path for. */
  candidates: number[];
  /** The class keys (see `classKeys`) that share this name. */
  keys: number[];
}

function tally(
  snapshot: HeapSnapshot,
  selected: (node: number) => boolean,
): { byName: Map<string, NamedTally>; keys: Uint32Array; keyCount: number } {
  const { keys, keyCount } = classKeys(snapshot);
  const count = new Uint32Array(keyCount);
  const bytes = new Float64Array(keyCount);
  const selectedCount = new Uint32Array(keyCount);
  const selectedBytes = new Float64Array(keyCount);
  const firstNode = new Int32Array(keyCount).fill(-1);
  const candidates = new Map<number, number[]>();
  for (let node = 0; node < snapshot.nodeCount; node++) {
    const key = keys[node]!;
    const size = snapshot.nodeSelfSizeBytes[node]!;
    count[key]!++;
    bytes[key] = bytes[key]! + size;
    if (firstNode[key] === -1) firstNode[key] = node;
    if (selected(node)) {
      selectedCount[key]!++;
      selectedBytes[key] = selectedBytes[key]! + size;
      const list = candidates.get(key) ?? [];
      if (list.length === 0) candidates.set(key, list);
      if (list.length < SAMPLE_CANDIDATES) list.push(node);
    }
  }
  // Different keys can share a display name (an empty constructor name and `(object)`).
  const byName = new Map<string, NamedTally>();
  for (let key = 0; key < keyCount; key++) {
    const node = firstNode[key]!;
    if (node === -1) continue;
    const name = className(snapshot, node);
    const entry = byName.get(name) ?? {
      totals: {
        count: 0,
        selfSizeBytes: 0,
        selectedCount: 0,
        selectedSizeBytes: 0,
      },
      candidates: [],
      keys: [],
    };
    entry.totals.count += count[key]!;
    entry.totals.selfSizeBytes += bytes[key]!;
    entry.totals.selectedCount += selectedCount[key]!;
    entry.totals.selectedSizeBytes += selectedBytes[key]!;
    entry.keys.push(key);
    entry.candidates.push(...(candidates.get(key) ?? []));
    byName.set(name, entry);
  }
  return { byName, keys, keyCount };
}

function describe(snapshot: HeapSnapshot): SnapshotInfo {
  let selfSizeBytes = 0;
  for (const size of snapshot.nodeSelfSizeBytes) selfSizeBytes += size;
  return {
    path: snapshot.path,
    fileSizeBytes: snapshot.fileSizeBytes,
    nodeCount: snapshot.nodeCount,
    edgeCount: snapshot.edgeCount,
    selfSizeBytes,
  };
}

function sortedIds(snapshot: HeapSnapshot, keep: (node: number) => boolean): Uint32Array {
  const ids = new Uint32Array(snapshot.nodeCount);
  let length = 0;
  for (let node = 0; node < snapshot.nodeCount; node++) {
    if (keep(node)) ids[length++] = snapshot.nodeId[node]!;
  }
  return ids.subarray(0, length).sort();
}

function contains(sorted: Uint32Array, id: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const value = sorted[mid]!;
    if (value < id) low = mid + 1;
    else if (value > id) high = mid - 1;
    else return true;
  }
  return false;
}
