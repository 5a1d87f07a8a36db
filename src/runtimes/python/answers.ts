import { MemwardenError } from '../../errors.js';
import type { PythonAllocationSite, PythonPath, PythonSnapshot, PythonTypeCount } from './types.js';

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

export function parseGcAnswer(answer: unknown, pid: number): { collected: number } {
  return { collected: number(object(answer, 'gc result', pid).collected, 'collected count', pid) };
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
