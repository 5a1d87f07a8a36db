import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { errnoCode, MemwardenError } from '../../errors.js';
import { ChunkReader, describeByte } from './chunk-reader.js';
import type { EdgeJob, EdgeJobResult } from './edge-worker.js';
import {
  type EdgeColumns,
  type Meta,
  type NodeColumns,
  readEdges,
  readNodes,
  readStrings,
  sharedEdgeColumns,
} from './sections.js';
import type { HeapSnapshot } from './snapshot.js';

export interface ReadProgress {
  path: string;
  bytesRead: number;
  totalBytes: number;
}

export interface ReadOptions {
  /** Called after each chunk read; cheap enough to update a progress line. */
  onProgress?: (progress: ReadProgress) => void;
  chunkBytes?: number;
  /**
   * Files at least this large have their `edges` section parsed by a worker thread while this
   * thread reads the nodes (default 32 MiB; `Infinity` never does). Below it, starting a
   * thread costs more than it saves.
   */
  workerMinFileBytes?: number;
}

/** The header is a few KB; anything this large before the graph is not a snapshot. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
const DEFAULT_WORKER_MIN_FILE_BYTES = 32 * 1024 * 1024;
/**
 * A worker thread loads its entry file without the loader hooks of a TypeScript runner, so
 * the edge worker runs only from compiled code; from sources the main thread reads the edges.
 */
const WORKER_LOADABLE = import.meta.url.endsWith('.js');

/**
 * Reads a `.heapsnapshot` file into typed arrays without ever holding it as one string: the
 * file is consumed in chunks by a tokenizer that knows V8's layout (a small `snapshot` header,
 * then flat integer arrays and a string table). A file that is not a snapshot, or ends early,
 * is a MW_INPUT error naming the file and the byte offset.
 */
export async function readHeapSnapshot(path: string, options: ReadOptions = {}): Promise<HeapSnapshot> {
  let file: Awaited<ReturnType<typeof open>>;
  try {
    file = await open(path, 'r');
  } catch (err) {
    const code = errnoCode(err);
    throw new MemwardenError(
      code === 'EACCES' ? 'MW_PERMISSION' : 'MW_INPUT',
      `${path}: cannot read (${code ?? String(err)})`,
    );
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile())
      throw new MemwardenError('MW_INPUT', `${path}: not a regular file, not a heap snapshot`);
    if (stat.size === 0)
      throw new MemwardenError('MW_INPUT', `${path}: not a V8 heap snapshot: the file is empty`);
    const totalBytes = stat.size;
    const onProgress = options.onProgress;
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const reader = new ChunkReader(file, path, chunkBytes, (bytesRead) =>
      onProgress?.({ path, bytesRead, totalBytes }),
    );
    const useWorker =
      WORKER_LOADABLE && totalBytes >= (options.workerMinFileBytes ?? DEFAULT_WORKER_MIN_FILE_BYTES);
    return await parse(reader, totalBytes, useWorker ? chunkBytes : undefined);
  } catch (err) {
    if (err instanceof MemwardenError) throw err;
    throw new MemwardenError('MW_INPUT', `${path}: cannot read (${errnoCode(err) ?? String(err)})`);
  } finally {
    await file.close();
  }
}

/**
 * `workerChunkBytes` is set when a worker thread should read the edges. It can start only once
 * the header has been read, and must be stopped however the parse ends, hence the callbacks.
 */
async function parse(
  reader: ChunkReader,
  fileSizeBytes: number,
  workerChunkBytes: number | undefined,
): Promise<HeapSnapshot> {
  let edgeJob: EdgeWorker | undefined;
  try {
    return await parseSections(
      reader,
      fileSizeBytes,
      (meta) => {
        if (workerChunkBytes !== undefined) {
          edgeJob = startEdgeWorker(reader.path, reader.offsetBytes, workerChunkBytes, meta);
        }
      },
      () => edgeJob,
    );
  } finally {
    edgeJob?.stop();
  }
}

async function parseSections(
  reader: ChunkReader,
  fileSizeBytes: number,
  onMeta: (meta: Meta) => void,
  edgeWorker: () => EdgeWorker | undefined,
): Promise<HeapSnapshot> {
  const first = await reader.peekNonSpace('the first value');
  if (first !== 0x7b)
    throw reader.fail(`not a V8 heap snapshot: expected '{' but found ${describeByte(first)}`);
  reader.pos++;

  let meta: Meta | undefined;
  let nodes: NodeColumns | undefined;
  let edges: EdgeColumns | undefined;
  let strings: string[] | undefined;
  let firstKey = true;
  for (;;) {
    const next = await reader.peekNonSpace('the top-level object');
    if (next === 0x7d) break;
    if (!firstKey) await reader.expect(0x2c, 'the top-level object');
    if ((await reader.peekNonSpace('the top-level object')) !== 0x22) {
      throw reader.fail('not a V8 heap snapshot: expected a section name');
    }
    const keyOffset = reader.offsetBytes;
    const key = await reader.readString('a section name');
    await reader.expect(0x3a, `section '${key}'`);
    if (firstKey && key !== 'snapshot') {
      throw reader.fail(`not a V8 heap snapshot: the first section is '${key}', not 'snapshot'`, keyOffset);
    }
    firstKey = false;
    switch (key) {
      case 'snapshot':
        meta = await readMeta(reader);
        onMeta(meta);
        break;
      case 'nodes':
        nodes = await readNodes(reader, requireMeta(reader, meta, key));
        break;
      case 'edges': {
        const edgeMeta = requireMeta(reader, meta, key);
        const parallel = await edgeWorker()?.result;
        if (parallel && parallel.keyOffsetBytes === keyOffset) {
          edges = parallel.columns;
          reader.seek(parallel.endBytes);
        } else {
          edges = await readEdges(reader, edgeMeta, localEdgeColumns(edgeMeta.edgeCount));
        }
        break;
      }
      case 'strings':
        strings = await readStrings(reader);
        break;
      default:
        await reader.skipValue(`section '${key}'`);
    }
  }
  const endOffset = reader.offsetBytes;
  if (!meta || !nodes || !edges || !strings) {
    const missing = [!nodes && 'nodes', !edges && 'edges', !strings && 'strings'].filter(Boolean);
    throw reader.fail(`not a complete V8 heap snapshot: no '${missing.join("', '")}' section`, endOffset);
  }
  const firstEdge = edgeRanges(reader, nodes.firstEdge, meta.edgeCount, endOffset);
  checkStringIndices(reader, nodes.name, strings.length, 'a node name', endOffset);
  return {
    path: reader.path,
    fileSizeBytes,
    nodeCount: meta.nodeCount,
    edgeCount: meta.edgeCount,
    nodeType: nodes.type,
    nodeName: nodes.name,
    nodeId: nodes.id,
    nodeSelfSizeBytes: nodes.selfSize,
    firstEdge,
    edgeType: edges.type,
    edgeNameOrIndex: edges.nameOrIndex,
    edgeTarget: edges.target,
    strings,
    nodeTypeNames: meta.nodeTypeNames,
    edgeTypeNames: meta.edgeTypeNames,
  };
}

function requireMeta(reader: ChunkReader, meta: Meta | undefined, section: string): Meta {
  if (!meta) throw reader.fail(`not a V8 heap snapshot: section '${section}' comes before 'snapshot'`);
  return meta;
}

async function readMeta(reader: ChunkReader): Promise<Meta> {
  const startBytes = reader.offsetBytes;
  const raw = await reader.readRawValue('the snapshot header', MAX_HEADER_BYTES);
  let header: unknown;
  try {
    header = JSON.parse(raw.toString('utf8'));
  } catch {
    throw reader.fail('not a V8 heap snapshot: the snapshot header is not valid JSON', startBytes);
  }
  const meta = validateMeta(header);
  if (typeof meta === 'string') throw reader.fail(`not a V8 heap snapshot: ${meta}`, startBytes);
  return meta;
}

/** Parse boundary: the header is untrusted JSON, checked field by field once. */
function validateMeta(header: unknown): Meta | string {
  if (!isRecord(header) || !isRecord(header.meta)) return "the header has no 'meta'";
  const m = header.meta;
  const nodeFields = m.node_fields;
  const edgeFields = m.edge_fields;
  if (!isStringArray(nodeFields) || !isStringArray(edgeFields))
    return "'meta' has no node_fields/edge_fields";
  const nodeTypes = Array.isArray(m.node_types) ? m.node_types[0] : undefined;
  const edgeTypes = Array.isArray(m.edge_types) ? m.edge_types[0] : undefined;
  if (!isStringArray(nodeTypes) || !isStringArray(edgeTypes)) return "'meta' has no node_types/edge_types";
  for (const field of ['type', 'name', 'id', 'self_size', 'edge_count']) {
    if (!nodeFields.includes(field)) return `node_fields lacks '${field}'`;
  }
  for (const field of ['type', 'name_or_index', 'to_node']) {
    if (!edgeFields.includes(field)) return `edge_fields lacks '${field}'`;
  }
  const nodeCount = header.node_count;
  const edgeCount = header.edge_count;
  if (!isCount(nodeCount) || !isCount(edgeCount)) return 'the header has no node_count/edge_count';
  if (nodeCount === 0) return 'the snapshot has no nodes';
  return {
    nodeFields,
    nodeTypeNames: nodeTypes,
    edgeFields,
    edgeTypeNames: edgeTypes,
    nodeCount,
    edgeCount,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value < 2 ** 32;
}

/** Turns per-node edge counts into first-edge offsets, in place, and checks their sum. */
function edgeRanges(reader: ChunkReader, counts: Uint32Array, edgeCount: number, offsetBytes: number) {
  let total = 0;
  const nodeCount = counts.length - 1;
  for (let node = 0; node < nodeCount; node++) {
    const count = counts[node]!;
    counts[node] = total;
    total += count;
  }
  counts[nodeCount] = total;
  if (total !== edgeCount) {
    throw reader.fail(
      `inconsistent heap snapshot: nodes claim ${total} edges, the header says ${edgeCount}`,
      offsetBytes,
    );
  }
  return counts;
}

function checkStringIndices(
  reader: ChunkReader,
  indices: Uint32Array,
  stringCount: number,
  what: string,
  offsetBytes: number,
): void {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (index >= stringCount) {
      throw reader.fail(
        `inconsistent heap snapshot: ${what} refers to string ${index} of ${stringCount}`,
        offsetBytes,
      );
    }
  }
}

function localEdgeColumns(edgeCount: number): EdgeColumns {
  return {
    type: new Uint8Array(edgeCount),
    nameOrIndex: new Uint32Array(edgeCount),
    target: new Uint32Array(edgeCount),
  };
}

interface EdgeWorker {
  /** Undefined when the worker could not do the job; the main thread then reads the edges. */
  result: Promise<(EdgeJobResult & { columns: EdgeColumns }) | undefined>;
  stop(): void;
}

/** Starts reading the edges in a worker thread from `fromBytes` on. */
function startEdgeWorker(
  path: string,
  fromBytes: number,
  chunkBytes: number,
  meta: Meta,
): EdgeWorker | undefined {
  const columns = sharedEdgeColumns(meta.edgeCount);
  const job: EdgeJob = { path, fromBytes, chunkBytes, meta, columns };
  let worker: Worker;
  try {
    // The worker needs none of the process's flags, and some (`-e`) would stop it from starting.
    worker = new Worker(new URL('./edge-worker.js', import.meta.url), { workerData: job, execArgv: [] });
  } catch {
    return undefined;
  }
  const result = new Promise<(EdgeJobResult & { columns: EdgeColumns }) | undefined>((resolve) => {
    worker.once('message', (message: EdgeJobResult | null) =>
      resolve(message ? { ...message, columns } : undefined),
    );
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
  return {
    result,
    stop: () => {
      void worker.terminate();
    },
  };
}
