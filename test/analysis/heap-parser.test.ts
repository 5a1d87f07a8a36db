import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  buildRetainerTree,
  className,
  computeDominators,
  edgeName,
  type HeapSnapshot,
  NO_DOMINATOR,
  readHeapSnapshot,
  retainerPath,
  summarizeByClass,
} from '../../src/analysis/heap/index.js';
import { MemwardenError } from '../../src/errors.js';
import { start, waitForExit } from '../helpers/processes.js';
import { HeapTarget } from './heap-fixture.js';

const RECORDS = 300;

interface RawSnapshot {
  snapshot: {
    meta: { node_fields: string[]; edge_fields: string[] };
    node_count: number;
    edge_count: number;
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

describe('heap snapshot reader', () => {
  let target: HeapTarget;
  let path: string;
  let raw: RawSnapshot;
  let snapshot: HeapSnapshot;

  before(async () => {
    target = await HeapTarget.start();
    await target.grow(RECORDS);
    path = await target.snapshot();
    // The small file is parsed the naive way too, as the reference to agree with.
    raw = JSON.parse(await readFile(path, 'utf8')) as RawSnapshot;
    snapshot = await readHeapSnapshot(path);
  });
  after(() => target?.dispose());

  it('reads the node and edge counts, ids, sizes and strings V8 wrote', () => {
    const nodeFields = raw.snapshot.meta.node_fields;
    const fieldCount = nodeFields.length;
    assert.equal(snapshot.nodeCount, raw.snapshot.node_count);
    assert.equal(snapshot.edgeCount, raw.snapshot.edge_count);
    assert.equal(snapshot.nodeCount * fieldCount, raw.nodes.length);
    assert.equal(snapshot.edgeCount * raw.snapshot.meta.edge_fields.length, raw.edges.length);
    assert.deepEqual(snapshot.strings, raw.strings);

    const idField = nodeFields.indexOf('id');
    const sizeField = nodeFields.indexOf('self_size');
    let rawTotalBytes = 0;
    let totalBytes = 0;
    for (let node = 0; node < snapshot.nodeCount; node++) {
      rawTotalBytes += raw.nodes[node * fieldCount + sizeField]!;
      totalBytes += snapshot.nodeSelfSizeBytes[node]!;
      assert.equal(snapshot.nodeId[node], raw.nodes[node * fieldCount + idField]);
    }
    assert.equal(totalBytes, rawTotalBytes);
    const toNode = raw.snapshot.meta.edge_fields.indexOf('to_node');
    const edgeFieldCount = raw.snapshot.meta.edge_fields.length;
    for (let edge = 0; edge < snapshot.edgeCount; edge++) {
      assert.equal(snapshot.edgeTarget[edge]! * fieldCount, raw.edges[edge * edgeFieldCount + toNode]);
    }
  });

  it('parses the same graph whatever the chunk size', async () => {
    const small = await readHeapSnapshot(path, { chunkBytes: 1021 });
    assert.deepEqual(small.nodeId, snapshot.nodeId);
    assert.deepEqual(small.nodeSelfSizeBytes, snapshot.nodeSelfSizeBytes);
    assert.deepEqual(small.firstEdge, snapshot.firstEdge);
    assert.deepEqual(small.edgeTarget, snapshot.edgeTarget);
    assert.deepEqual(small.edgeNameOrIndex, snapshot.edgeNameOrIndex);
    assert.deepEqual(small.strings, snapshot.strings);
  });

  it('reads the edges in a worker thread, from the built code, to the same graph', async () => {
    const result = await runBuilt(WORKER_CHECK, [path, `${path}.cut.heapsnapshot`]);
    assert.deepEqual(result, { shared: true, same: true, truncation: 'truncated at the cut' });
  });

  it('reports progress up to the whole file', async () => {
    const seen: number[] = [];
    await readHeapSnapshot(path, { chunkBytes: 1 << 16, onProgress: (p) => seen.push(p.bytesRead) });
    assert.ok(seen.length > 1);
    assert.equal(seen.at(-1), snapshot.fileSizeBytes);
  });

  it('counts the records by their constructor name', () => {
    const records = summarizeByClass(snapshot).find((c) => c.name === 'SessionRecord');
    assert.equal(records?.count, RECORDS);
  });

  it('computes the same dominators as the iterative Cooper–Harvey–Kennedy algorithm', () => {
    const tree = computeDominators(snapshot);
    const expected = iterativeDominators(snapshot);
    for (let node = 0; node < snapshot.nodeCount; node++) {
      assert.equal(tree.dominator[node], expected[node] === -1 ? NO_DOMINATOR : expected[node]);
    }
  });

  it('lets the root retain everything reachable, and the Map retain its records', () => {
    const tree = computeDominators(snapshot);
    const reachable = iterativeDominators(snapshot);
    let reachableBytes = 0;
    for (let node = 0; node < snapshot.nodeCount; node++) {
      if (reachable[node] !== -1) reachableBytes += snapshot.nodeSelfSizeBytes[node]!;
      assert.ok(tree.retainedSizeBytes[node]! >= snapshot.nodeSelfSizeBytes[node]!);
    }
    assert.equal(tree.retainedSizeBytes[0], reachableBytes);

    const map = nodeBehindEdge(snapshot, 'sessions');
    assert.equal(className(snapshot, map), 'Map');
    let recordBytes = 0;
    for (let node = 0; node < snapshot.nodeCount; node++) {
      if (className(snapshot, node) === 'SessionRecord') recordBytes += tree.retainedSizeBytes[node]!;
    }
    assert.ok(recordBytes > 0);
    assert.ok(
      tree.retainedSizeBytes[map]! >= recordBytes,
      `Map retains ${tree.retainedSizeBytes[map]} < records ${recordBytes}`,
    );
  });

  it('gives each record a retainer path from the root through the Map', () => {
    const retainers = buildRetainerTree(snapshot);
    let node = 0;
    while (className(snapshot, node) !== 'SessionRecord') node++;
    const path = retainerPath(snapshot, retainers, node);
    assert.ok(path, 'a record is reachable');
    assert.equal(path[0], '(root)');
    assert.equal(path.at(-1), 'SessionRecord');
    assert.match(path.join(' → '), /sessions → Map → table → SessionRecord$/);
  });
});

describe('heap snapshot reader on bad input', () => {
  let target: HeapTarget;
  let good: Buffer;

  before(async () => {
    target = await HeapTarget.start();
    good = await readFile(await target.snapshot());
  });
  after(() => target?.dispose());

  async function rejects(bytes: Buffer | string, message: RegExp): Promise<void> {
    const path = join(target.dir, 'bad.heapsnapshot');
    await writeFile(path, bytes);
    await assert.rejects(readHeapSnapshot(path), (err: unknown) => {
      assert.ok(err instanceof MemwardenError, String(err));
      assert.equal(err.code, 'MW_INPUT');
      assert.ok(err.message.startsWith(`${path}: `), err.message);
      assert.match(err.message, message);
      return true;
    });
  }

  it('names the byte where a truncated snapshot ends, wherever it is cut', async () => {
    const text = good.toString('latin1');
    const cuts = [
      100,
      text.indexOf('"nodes"') + 5000,
      text.indexOf('"edges"') + 5000,
      text.indexOf('"strings"') + 5000,
      good.length - 3,
    ];
    for (const cut of cuts) {
      await rejects(good.subarray(0, cut), new RegExp(`truncated heap snapshot: .* at byte ${cut}$`));
    }
  });

  it('tells a file that is not a heap snapshot, with the byte offset', async () => {
    await rejects('{"hello": [1, 2, 3]}', /not a V8 heap snapshot: .*'hello'.* at byte 1$/);
    await rejects(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]), /not a V8 heap snapshot: .* at byte 0$/);
    await rejects('[1, 2, 3]', /not a V8 heap snapshot: expected '\{' .* at byte 0$/);
    await rejects('', /not a V8 heap snapshot: the file is empty/);
  });

  it('rejects a snapshot whose arrays disagree with its header', async () => {
    const text = good.toString('latin1');
    const start = text.indexOf('"nodes":[') + '"nodes":['.length;
    const broken = `${text.slice(0, start)}9,${text.slice(start)}`;
    await rejects(
      Buffer.from(broken, 'latin1'),
      /section 'nodes' has \d+ values, the header says \d+ at byte \d+$/,
    );
  });
});

/**
 * Runs in a child from dist/ (worker threads cannot load TypeScript sources): parses the file
 * with and without the edge worker, compares, then cuts the file inside `edges` and checks the
 * error still names the cut.
 */
const WORKER_CHECK = `
import { readFile, writeFile, rm } from 'node:fs/promises';
import { readHeapSnapshot } from ${JSON.stringify(new URL('../../dist/analysis/heap/index.js', import.meta.url).href)};
const [path, cutPath] = process.argv.slice(1);
const main = await readHeapSnapshot(path, { workerMinFileBytes: Infinity });
const worker = await readHeapSnapshot(path, { workerMinFileBytes: 0 });
let same = main.edgeCount === worker.edgeCount;
for (let e = 0; same && e < main.edgeCount; e++) {
  same = main.edgeTarget[e] === worker.edgeTarget[e] && main.edgeType[e] === worker.edgeType[e]
    && main.edgeNameOrIndex[e] === worker.edgeNameOrIndex[e];
}
const text = await readFile(path);
const cut = text.indexOf('"edges"') + 1000;
await writeFile(cutPath, text.subarray(0, cut));
let truncation = 'no error';
try {
  await readHeapSnapshot(cutPath, { workerMinFileBytes: 0 });
} catch (err) {
  truncation = err.code === 'MW_INPUT' && err.message.endsWith('at byte ' + cut) ? 'truncated at the cut' : err.message;
} finally {
  await rm(cutPath, { force: true });
}
console.log(JSON.stringify({ shared: worker.edgeTarget.buffer instanceof SharedArrayBuffer, same, truncation }));
`;

async function runBuilt(code: string, args: string[]): Promise<unknown> {
  const child = start(process.execPath, ['--input-type=module', '-e', code, ...args]);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  assert.equal(await waitForExit(child), 0, stderr);
  return JSON.parse(stdout);
}

/** The edge named `name` out of any node, to find a module variable's value. */
function nodeBehindEdge(snapshot: HeapSnapshot, name: string): number {
  for (let edge = 0; edge < snapshot.edgeCount; edge++) {
    if (edgeName(snapshot, edge) === name) return snapshot.edgeTarget[edge]!;
  }
  throw new Error(`no edge named ${name}`);
}

/**
 * Immediate dominators the slow, obvious way (Cooper, Harvey and Kennedy's iteration over the
 * reverse postorder), as the reference for the Lengauer–Tarjan implementation. -1: unreachable.
 */
function iterativeDominators(snapshot: HeapSnapshot): Int32Array {
  const n = snapshot.nodeCount;
  const weak = snapshot.edgeTypeNames.indexOf('weak');
  const strongEdges = (node: number): number[] => {
    const targets: number[] = [];
    for (let e = snapshot.firstEdge[node]!; e < snapshot.firstEdge[node + 1]!; e++) {
      if (snapshot.edgeType[e] !== weak) targets.push(snapshot.edgeTarget[e]!);
    }
    return targets;
  };
  const postorder: number[] = [];
  const seen = new Uint8Array(n);
  const stack: { node: number; next: number; targets: number[] }[] = [
    { node: 0, next: 0, targets: strongEdges(0) },
  ];
  seen[0] = 1;
  while (stack.length > 0) {
    const top = stack.at(-1)!;
    if (top.next === top.targets.length) {
      postorder.push(top.node);
      stack.pop();
      continue;
    }
    const target = top.targets[top.next++]!;
    if (seen[target] === 0) {
      seen[target] = 1;
      stack.push({ node: target, next: 0, targets: strongEdges(target) });
    }
  }
  const order = new Int32Array(n).fill(-1);
  postorder.forEach((node, i) => {
    order[node] = i;
  });
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (const node of postorder) for (const target of strongEdges(node)) preds[target]!.push(node);
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const reversePostorder = postorder.slice().reverse();
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of reversePostorder) {
      if (node === 0) continue;
      let candidate = -1;
      for (const pred of preds[node]!) {
        if (idom[pred] === -1) continue;
        if (candidate === -1) {
          candidate = pred;
          continue;
        }
        let a = pred;
        let b = candidate;
        while (a !== b) {
          while (order[a]! < order[b]!) a = idom[a]!;
          while (order[b]! < order[a]!) b = idom[b]!;
        }
        candidate = a;
      }
      if (idom[node] !== candidate) {
        idom[node] = candidate;
        changed = true;
      }
    }
  }
  return idom;
}
