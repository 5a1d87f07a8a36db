import { type ChunkReader, describeByte, isJsonSpace } from './chunk-reader.js';

/** What the snapshot header says about the layout of the arrays that follow. */
export interface Meta {
  nodeFields: string[];
  nodeTypeNames: string[];
  edgeFields: string[];
  edgeTypeNames: string[];
  nodeCount: number;
  edgeCount: number;
}

export interface NodeColumns {
  type: Uint8Array;
  name: Uint32Array;
  id: Uint32Array;
  selfSize: Float64Array;
  /** Holds each node's edge count until `edgeRanges` turns it into first-edge offsets in place. */
  firstEdge: Uint32Array;
}

export interface EdgeColumns {
  type: Uint8Array;
  nameOrIndex: Uint32Array;
  target: Uint32Array;
}

/** Items per batch handed from the tokenizer to a section's column writer. */
const BATCH_ITEMS = 16 * 1024;

export async function readNodes(reader: ChunkReader, meta: Meta): Promise<NodeColumns> {
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

/**
 * Edge columns over shared memory, so a worker thread can fill them while the main thread
 * reads the nodes.
 */
export function sharedEdgeColumns(edgeCount: number): EdgeColumns {
  return {
    type: new Uint8Array(new SharedArrayBuffer(edgeCount)),
    nameOrIndex: new Uint32Array(new SharedArrayBuffer(edgeCount * 4)),
    target: new Uint32Array(new SharedArrayBuffer(edgeCount * 4)),
  };
}

export async function readEdges(reader: ChunkReader, meta: Meta, columns: EdgeColumns): Promise<EdgeColumns> {
  const count = meta.edgeCount;
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

export async function readStrings(reader: ChunkReader): Promise<string[]> {
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
