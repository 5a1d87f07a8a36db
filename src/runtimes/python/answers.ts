import { MemwardenError } from '../../errors.js';
import type {
  PythonAllocationSite,
  PythonGcResult,
  PythonHeapTrim,
  PythonPath,
  PythonSnapshot,
  PythonTypeCount,
} from './types.js';

/**
 * The parse boundary for what a target sends back. A target is not trusted to be well-formed:
 * every field is checked once here, and typed after.
 */

type Json = Record<string, unknown>;

function object(value: unknown, what: string, pid: number): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(what, pid);
  return value as Json;
}

function number(value: unknown, what: string, pid: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(what, pid);
  return value;
}

function string(value: unknown, what: string, pid: number): string {
  if (typeof value !== 'string') throw bad(what, pid);
  return value;
}

function array(value: unknown, what: string, pid: number): unknown[] {
  if (!Array.isArray(value)) throw bad(what, pid);
  return value;
}

function bad(what: string, pid: number): MemwardenError {
  return new MemwardenError('MW_INPUT', `the answer from pid ${pid} has no valid ${what}`);
}

/** A number the answer may leave out or send as null (an agent of an older memwarden). */
function optionalNumber(value: unknown, what: string, pid: number): number | undefined {
  return value === undefined || value === null ? undefined : number(value, what, pid);
}

function optionalString(value: unknown, what: string, pid: number): string | undefined {
  return value === undefined || value === null ? undefined : string(value, what, pid);
}

/** Copies the defined values only, so that optional fields stay absent rather than undefined. */
export function defined<T extends object>(values: T): T {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as T;
}

function parseTrim(value: unknown, pid: number): PythonHeapTrim | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = object(value, 'trim result', pid);
  if (raw.released !== undefined && typeof raw.released !== 'boolean') throw bad('trim released flag', pid);
  return defined({
    allocator: optionalString(raw.allocator, 'allocator', pid),
    call: optionalString(raw.call, 'trim call', pid),
    skipped: optionalString(raw.skipped, 'trim skip reason', pid),
    released: raw.released as boolean | undefined,
    rssBeforeBytes: optionalNumber(raw.rssBeforeBytes, 'RSS before the trim', pid),
    rssAfterBytes: optionalNumber(raw.rssAfterBytes, 'RSS after the trim', pid),
    durationMs: optionalNumber(raw.durationMs, 'trim duration', pid),
  });
}

export type GcAnswer = Pick<
  PythonGcResult,
  | 'collected'
  | 'gcDurationMs'
  | 'rssAfterCollectBytes'
  | 'allocatedBlocksBefore'
  | 'allocatedBlocksAfter'
  | 'trim'
> & { rssBeforeBytes?: number; rssAfterBytes?: number };

export function parseGcAnswer(answer: unknown, pid: number): GcAnswer {
  const raw = object(answer, 'gc result', pid);
  return defined({
    collected: number(raw.collected, 'collected count', pid),
    gcDurationMs: optionalNumber(raw.gcDurationMs, 'gc duration', pid),
    rssBeforeBytes: optionalNumber(raw.rssBeforeBytes, 'RSS before', pid),
    rssAfterCollectBytes: optionalNumber(raw.rssAfterCollectBytes, 'RSS after the collection', pid),
    rssAfterBytes: optionalNumber(raw.rssAfterBytes, 'RSS after', pid),
    allocatedBlocksBefore: optionalNumber(raw.allocatedBlocksBefore, 'allocated blocks before', pid),
    allocatedBlocksAfter: optionalNumber(raw.allocatedBlocksAfter, 'allocated blocks after', pid),
    trim: parseTrim(raw.trim, pid),
  });
}

export function parseSnapshotAnswer(answer: unknown, pid: number, path: PythonPath): PythonSnapshot {
  const raw = object(answer, 'snapshot', pid);
  const types = array(raw.types, 'types', pid).map((item): PythonTypeCount => {
    const entry = object(item, 'type count', pid);
    return {
      name: string(entry.name, 'type name', pid),
      count: number(entry.count, 'type count', pid),
      sizeBytes: number(entry.sizeBytes, 'type size', pid),
    };
  });
  const tracemalloc = array(raw.tracemalloc, 'tracemalloc sites', pid).map((item): PythonAllocationSite => {
    const site = object(item, 'tracemalloc site', pid);
    return {
      file: string(site.file, 'site file', pid),
      line: number(site.line, 'site line', pid),
      sizeBytes: number(site.sizeBytes, 'site size', pid),
      count: number(site.count, 'site count', pid),
    };
  });
  if (typeof raw.tracemallocStartedNow !== 'boolean') throw bad('tracemallocStartedNow', pid);
  return {
    runtime: 'python',
    pid,
    path,
    time: string(raw.time, 'time', pid),
    pythonVersion: string(raw.pythonVersion, 'pythonVersion', pid),
    gcObjects: number(raw.gcObjects, 'gcObjects', pid),
    types,
    tracemallocStartedNow: raw.tracemallocStartedNow,
    tracemallocTracedBytes: number(raw.tracemallocTracedBytes, 'tracemallocTracedBytes', pid),
    tracemalloc,
  };
}
