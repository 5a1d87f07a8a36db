import { open } from 'node:fs/promises';
import { errnoCode, MemwardenError } from '../../errors.js';
import { ChunkReader, describeByte, isJsonSpace } from './chunk-reader.js';
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
}

/** The header is a few KB; anything this large before the graph is not a snapshot. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

interface Meta {
  nodeFields: string[];
  nodeTypeNames: string[];
  edgeFields: string[];
  edgeTypeNames: string[];
  nodeCount: number;
  edgeCount: number;
}

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
    const reader = new ChunkReader(file, path, options.chunkBytes ?? DEFAULT_CHUNK_BYTES, (bytesRead) =>
      onProgress?.({ path, bytesRead, totalBytes }),
    );
    return await parse(reader, totalBytes);
  } catch (err) {
    if (err instanceof MemwardenError) throw err;
    throw new MemwardenError('MW_INPUT', `${path}: cannot read (${errnoCode(err) ?? String(err)})`);
  } finally {
    await file.close();
  }
}

async function parse(reader: ChunkReader, fileSizeBytes: number): Promise<HeapSnapshot> {
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
        break;
      case 'nodes':
        nodes = await readNodes(reader, requireMeta(reader, meta, key));
        break;
      case 'edges':
        edges = await readEdges(reader, requireMeta(reader, meta, key));
        break;
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

interface NodeColumns {
  type: Uint8Array;
  name: Uint32Array;
  id: Uint32Array;
  selfSize: Float64Array;
  /** Holds each node's edge count until `edgeRanges` turns it into first-edge offsets in place. */
  firstEdge: Uint32Array;
}

interface EdgeColumns {
  type: Uint8Array;
  nameOrIndex: Uint32Array;
  target: Uint32Array;
}

/** Items per batch handed from the tokenizer to a section's column writer. */
const BATCH_ITEMS = 16 * 1024;

async function readNodes(reader: ChunkReader, meta: Meta): Promise<NodeColumns> {
  const count = meta.nodeCount;
  const columns: NodeColumns = {
    type: new Uint8Array(count),
    name: new Uint32Array(count),
    id: new Uint32Array(count),
    selfSize: new Float64Array(count),
    firstEdge: new Uint32Array(count + 1),
  };
  const fields = meta.nodeFields;
  const [typeAt, nameAt, idAt, sizeAt, edgesAt] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) =>
    fields.indexOf(f),
  ) as [number, number, number, number, number];
  const typeCount = meta.nodeTypeNames.length;
  const { type, name, id, selfSize, firstEdge } = columns;
  await readIntegerArray(reader, 'nodes', count, fields.length, (values, length, firstItem) => {
    for (let at = 0, item = firstItem; at < length; at += fields.length, item++) {
      const nodeType = values[at + typeAt]!;
      if (nodeType >= typeCount)
        throw reader.failBefore(`node ${item} has type ${nodeType}, which node_types lacks`);
      type[item] = nodeType;
      name[item] = values[at + nameAt]!;
      id[item] = values[at + idAt]!;
      selfSize[item] = values[at + sizeAt]!;
      firstEdge[item] = values[at + edgesAt]!;
    }
  });
  return columns;
}

async function readEdges(reader: ChunkReader, meta: Meta): Promise<EdgeColumns> {
  const count = meta.edgeCount;
  const columns: EdgeColumns = {
    type: new Uint8Array(count),
    nameOrIndex: new Uint32Array(count),
    target: new Uint32Array(count),
  };
  const fields = meta.edgeFields;
  const [typeAt, nameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const nodeFieldCount = meta.nodeFields.length;
  const nodeCount = meta.nodeCount;
  const typeCount = meta.edgeTypeNames.length;
  const { type, nameOrIndex, target } = columns;
  await readIntegerArray(reader, 'edges', count, fields.length, (values, length, firstItem) => {
    for (let at = 0, item = firstItem; at < length; at += fields.length, item++) {
      const edgeType = values[at + typeAt]!;
      if (edgeType >= typeCount)
        throw reader.failBefore(`edge ${item} has type ${edgeType}, which edge_types lacks`);
      // The file stores the target's offset in the flat nodes array; keep its index instead.
      const toNode = values[at + toAt]!;
      const to = toNode / nodeFieldCount;
      if (to >= nodeCount || to !== Math.floor(to)) {
        throw reader.failBefore(`edge ${item} points outside the nodes (to_node ${toNode})`);
      }
      type[item] = edgeType;
      nameOrIndex[item] = values[at + nameAt]!;
      target[item] = to;
    }
  });
  return columns;
}

/**
 * The hot loop: a flat array of non-negative integers, `fieldCount` per item. Digits are
 * accumulated straight from the chunk buffer into a batch of whole items, and each full batch
 * goes to `write`, so the per-value work is a few comparisons and no call or string.
 */
async function readIntegerArray(
  reader: ChunkReader,
  section: string,
  itemCount: number,
  fieldCount: number,
  write: (values: Float64Array, length: number, firstItem: number) => void,
): Promise<void> {
  await reader.expect(0x5b, `section '${section}'`);
  const expectedValues = itemCount * fieldCount;
  const batch = new Float64Array(Math.min(BATCH_ITEMS, itemCount) * fieldCount);
  let batchLength = 0;
  let flushedValues = 0;
  let value = 0;
  let inNumber = false;
  for (;;) {
    if (reader.pos >= reader.end && !(await reader.fill())) throw reader.truncated(`section '${section}'`);
    const buf = reader.buf;
    const end = reader.end;
    let pos = reader.pos;
    while (pos < end) {
      const byte = buf[pos]!;
      let digit = byte - 0x30;
      // One unsigned compare per digit, and a tight inner loop over a number's digits.
      if (digit >>> 0 <= 9) {
        value = value * 10 + digit;
        for (pos++; pos < end; pos++) {
          digit = buf[pos]! - 0x30;
          if (digit >>> 0 > 9) break;
          value = value * 10 + digit;
        }
        inNumber = true;
        continue;
      }
      if (inNumber) {
        if (batchLength === batch.length) {
          if (flushedValues + batchLength >= expectedValues) {
            reader.pos = pos;
            throw reader.fail(`section '${section}' has more values than the header's count`);
          }
          reader.pos = pos;
          write(batch, batchLength, flushedValues / fieldCount);
          flushedValues += batchLength;
          batchLength = 0;
        }
        batch[batchLength++] = value;
        value = 0;
        inNumber = false;
      }
      if (byte === 0x2c || isJsonSpace(byte)) {
        pos++;
      } else if (byte === 0x5d) {
        reader.pos = pos + 1;
        const valueCount = flushedValues + batchLength;
        if (valueCount !== expectedValues) {
          throw reader.fail(
            `section '${section}' has ${valueCount} values, the header says ${expectedValues}`,
            reader.offsetBytes - 1,
          );
        }
        write(batch, batchLength, flushedValues / fieldCount);
        return;
      } else {
        reader.pos = pos;
        throw reader.fail(`unexpected ${describeByte(byte)} in section '${section}'`);
      }
    }
    reader.pos = pos;
  }
}

async function readStrings(reader: ChunkReader): Promise<string[]> {
  const strings: string[] = [];
  await reader.expect(0x5b, "section 'strings'");
  let needComma = false;
  for (;;) {
    if (reader.pos >= reader.end && !(await reader.fill())) throw reader.truncated("section 'strings'");
    // Most strings lie wholly inside the chunk: take those without awaiting anything.
    const buf = reader.buf;
    const end = reader.end;
    let pos = reader.pos;
    while (pos < end) {
      const byte = buf[pos]!;
      if (isJsonSpace(byte)) {
        pos++;
      } else if (byte === 0x2c && needComma) {
        needComma = false;
        pos++;
      } else if (byte === 0x5d && (needComma || strings.length === 0)) {
        reader.pos = pos + 1;
        return strings;
      } else if (byte === 0x22 && !needComma) {
        const scan = scanString(buf, pos + 1, end);
        if (scan === -1) break;
        const close = scan >>> 1;
        if ((scan & 1) === 1) {
          reader.pos = pos;
          strings.push(await reader.readString("section 'strings'"));
          pos = reader.pos;
        } else {
          strings.push(buf.toString('utf8', pos + 1, close));
          pos = close + 1;
        }
        needComma = true;
      } else {
        reader.pos = pos;
        throw reader.fail(`unexpected ${describeByte(byte)} in section 'strings'`);
      }
    }
    reader.pos = pos;
    if (pos < end) {
      // A string runs past the chunk: the slow path joins the pieces.
      strings.push(await reader.readString("section 'strings'"));
      needComma = true;
    }
  }
}

/**
 * Finds the quote that ends a string whose content starts at `from`: its index times two, plus
 * one if the string holds an escape (so it needs JSON.parse); -1 if it runs past `end`. Packed
 * in one number because this runs once per string and should not allocate.
 */
function scanString(buf: Buffer, from: number, end: number): number {
  let escaped = 0;
  for (let at = from; at < end; at++) {
    const byte = buf[at]!;
    if (byte === 0x22) return at * 2 + escaped;
    if (byte === 0x5c) {
      escaped = 1;
      at++;
    }
  }
  return -1;
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
