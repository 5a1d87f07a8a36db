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

// Roles of the integer fields the graph keeps; every other field is read and dropped.
const SKIP = 0;
const TYPE = 1;
const NAME = 2;
const ID = 3;
const SELF_SIZE = 4;
const EDGE_COUNT = 5;
const TO_NODE = 6;

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
  const firstEdge = edgeRanges(reader, nodes.edgeCounts, meta.edgeCount, endOffset);
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
  edgeCounts: Uint32Array;
}

interface EdgeColumns {
  type: Uint8Array;
  nameOrIndex: Uint32Array;
  target: Uint32Array;
}

function roles(fields: readonly string[], named: Record<string, number>): Uint8Array {
  return Uint8Array.from(fields, (field) => named[field] ?? SKIP);
}

async function readNodes(reader: ChunkReader, meta: Meta): Promise<NodeColumns> {
  const count = meta.nodeCount;
  const columns: NodeColumns = {
    type: new Uint8Array(count),
    name: new Uint32Array(count),
    id: new Uint32Array(count),
    selfSize: new Float64Array(count),
    edgeCounts: new Uint32Array(count),
  };
  const fieldRoles = roles(meta.nodeFields, {
    type: TYPE,
    name: NAME,
    id: ID,
    self_size: SELF_SIZE,
    edge_count: EDGE_COUNT,
  });
  const typeCount = meta.nodeTypeNames.length;
  await readIntegerArray(reader, 'nodes', count, fieldRoles, (role, item, value, offsetBytes) => {
    switch (role) {
      case TYPE:
        if (value >= typeCount)
          throw reader.fail(`node type ${value} is not in the header's node_types`, offsetBytes);
        columns.type[item] = value;
        break;
      case NAME:
        columns.name[item] = value;
        break;
      case ID:
        columns.id[item] = value;
        break;
      case SELF_SIZE:
        columns.selfSize[item] = value;
        break;
      case EDGE_COUNT:
        columns.edgeCounts[item] = value;
        break;
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
  const fieldRoles = roles(meta.edgeFields, { type: TYPE, name_or_index: NAME, to_node: TO_NODE });
  const nodeFieldCount = meta.nodeFields.length;
  const nodeCount = meta.nodeCount;
  const typeCount = meta.edgeTypeNames.length;
  await readIntegerArray(reader, 'edges', count, fieldRoles, (role, item, value, offsetBytes) => {
    switch (role) {
      case TYPE:
        if (value >= typeCount)
          throw reader.fail(`edge type ${value} is not in the header's edge_types`, offsetBytes);
        columns.type[item] = value;
        break;
      case NAME:
        columns.nameOrIndex[item] = value;
        break;
      case TO_NODE: {
        // The file stores the target's offset in the flat nodes array; keep its index instead.
        const target = value / nodeFieldCount;
        if (!Number.isInteger(target) || target >= nodeCount) {
          throw reader.fail(`edge points outside the nodes (to_node ${value})`, offsetBytes);
        }
        columns.target[item] = target;
        break;
      }
    }
  });
  return columns;
}

/**
 * The hot loop: a flat array of non-negative integers, `fieldRoles.length` fields per item,
 * handed field by field to `store`. Digits are accumulated straight from the chunk buffer, so
 * no string is ever made for a number.
 */
async function readIntegerArray(
  reader: ChunkReader,
  section: string,
  itemCount: number,
  fieldRoles: Uint8Array,
  store: (role: number, item: number, value: number, offsetBytes: number) => void,
): Promise<void> {
  await reader.expect(0x5b, `section '${section}'`);
  const fieldCount = fieldRoles.length;
  const expectedValues = itemCount * fieldCount;
  let valueCount = 0;
  let item = 0;
  let field = 0;
  let value = 0;
  let inNumber = false;
  for (;;) {
    if (reader.pos >= reader.end && !(await reader.fill())) throw reader.truncated(`section '${section}'`);
    const buf = reader.buf;
    const end = reader.end;
    let pos = reader.pos;
    while (pos < end) {
      const byte = buf[pos]!;
      if (byte >= 0x30 && byte <= 0x39) {
        value = value * 10 + (byte - 0x30);
        inNumber = true;
        pos++;
        continue;
      }
      if (inNumber) {
        if (valueCount >= expectedValues) {
          reader.pos = pos;
          throw reader.fail(`section '${section}' has more values than the header's count`);
        }
        const role = fieldRoles[field]!;
        if (role !== SKIP) {
          reader.pos = pos;
          store(role, item, value, reader.offsetBytes);
        }
        valueCount++;
        field++;
        if (field === fieldCount) {
          field = 0;
          item++;
        }
        value = 0;
        inNumber = false;
      }
      if (byte === 0x2c || isJsonSpace(byte)) {
        pos++;
      } else if (byte === 0x5d) {
        reader.pos = pos + 1;
        if (valueCount !== expectedValues) {
          throw reader.fail(
            `section '${section}' has ${valueCount} values, the header says ${expectedValues}`,
            reader.offsetBytes - 1,
          );
        }
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
  for (;;) {
    const next = await reader.peekNonSpace("section 'strings'");
    if (next === 0x5d) {
      reader.pos++;
      return strings;
    }
    if (strings.length > 0) {
      await reader.expect(0x2c, "section 'strings'");
      await reader.peekNonSpace("section 'strings'");
    }
    if (reader.buf[reader.pos] !== 0x22) {
      throw reader.fail(`unexpected ${describeByte(reader.buf[reader.pos]!)} in section 'strings'`);
    }
    strings.push(await reader.readString("section 'strings'"));
  }
}

function edgeRanges(reader: ChunkReader, edgeCounts: Uint32Array, edgeCount: number, offsetBytes: number) {
  const firstEdge = new Uint32Array(edgeCounts.length + 1);
  let total = 0;
  for (let node = 0; node < edgeCounts.length; node++) {
    firstEdge[node] = total;
    total += edgeCounts[node]!;
  }
  firstEdge[edgeCounts.length] = total;
  if (total !== edgeCount) {
    throw reader.fail(
      `inconsistent heap snapshot: nodes claim ${total} edges, the header says ${edgeCount}`,
      offsetBytes,
    );
  }
  return firstEdge;
}

function checkStringIndices(
  reader: ChunkReader,
  indices: Uint32Array,
  stringCount: number,
  what: string,
  offsetBytes: number,
): void {
  for (const index of indices) {
    if (index >= stringCount) {
      throw reader.fail(
        `inconsistent heap snapshot: ${what} refers to string ${index} of ${stringCount}`,
        offsetBytes,
      );
    }
  }
}
