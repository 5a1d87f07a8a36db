/**
 * Worker thread entry: finds the `edges` section of a snapshot from a given offset and parses
 * it into shared columns while the main thread reads the nodes. It answers with where the
 * section began and ended, or with nothing if it failed; the main thread then reads the
 * section itself, which reports any fault with its exact offset.
 */
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkReader } from './chunk-reader.js';
import { type EdgeColumns, type Meta, readEdges } from './sections.js';

export interface EdgeJob {
  path: string;
  fromBytes: number;
  chunkBytes: number;
  meta: Meta;
  columns: EdgeColumns;
}

export interface EdgeJobResult {
  /** Offset of the quote that opens the `"edges"` key. */
  keyOffsetBytes: number;
  /** Offset just past the section's closing bracket. */
  endBytes: number;
}

const KEY = Buffer.from('"edges":');

async function run(job: EdgeJob): Promise<EdgeJobResult | undefined> {
  const file = await open(job.path, 'r');
  try {
    const reader = new ChunkReader(file, job.path, job.chunkBytes, () => {});
    reader.seek(job.fromBytes);
    if (!(await reader.skipPast(KEY))) return undefined;
    const keyOffsetBytes = reader.offsetBytes - KEY.length;
    await readEdges(reader, job.meta, job.columns);
    return { keyOffsetBytes, endBytes: reader.offsetBytes };
  } finally {
    await file.close();
  }
}

run(workerData as EdgeJob).then(
  (result) => parentPort?.postMessage(result ?? null),
  () => parentPort?.postMessage(null),
);
