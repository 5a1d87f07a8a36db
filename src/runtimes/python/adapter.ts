import { statSync } from 'node:fs';
import type { RuntimeInfo } from '../detect.js';
import { detectAllocator } from '../native/index.js';
import {
  type ProbeOptions,
  type ReleaseStep,
  type RuntimeGcOutcome,
  type RuntimeProbes,
  skippedStep,
  timeout,
} from '../probe.js';
import { defined } from './answers.js';
import { pythonGc, pythonProbes, pythonSnapshot } from './operations.js';
import type { PythonGcResult, PythonPath } from './types.js';

async function release(target: RuntimeInfo, options: ProbeOptions): Promise<RuntimeGcOutcome> {
  const trimAsked = options.trim !== false;
  const r = await pythonGc(target.pid, { expect: target, trim: trimAsked, ...timeout(options) });
  return {
    via: PATH_WORDS[r.path],
    steps: releaseSteps(r, trimAsked),
    ...(r.pythonVersion ? { version: r.pythonVersion } : {}),
    details: { path: r.path, collected: r.collected },
  };
}

/** Types kept in a Python snapshot: enough for a leaking class to be among them. */
export const PYTHON_SNAPSHOT_TYPES = 1000;

const PATH_WORDS: Record<PythonPath, string> = {
  agent: 'its memwarden agent',
  lldb: 'an lldb injection',
  remote_exec: 'sys.remote_exec',
};

/** The two steps as the probe inside the target measured them. */
function releaseSteps(r: PythonGcResult, trimAsked: boolean): ReleaseStep[] {
  const via = PATH_WORDS[r.path];
  const collect: ReleaseStep = {
    step: 'collect',
    ran: true,
    via: `gc.collect() through ${via}`,
    details: defined({
      collected: r.collected,
      allocatedBlocksBefore: r.allocatedBlocksBefore,
      allocatedBlocksAfter: r.allocatedBlocksAfter,
    }),
  };
  if (r.rssBeforeBytes !== undefined) collect.rssBefore = r.rssBeforeBytes;
  if (r.rssAfterCollectBytes !== undefined) collect.rssAfter = r.rssAfterCollectBytes;
  if (r.gcDurationMs !== undefined) collect.durationMs = r.gcDurationMs;
  const t = r.trim;
  let trim: ReleaseStep;
  if (!trimAsked) trim = skippedStep('trim', 'not asked for (collection only)');
  else if (t === undefined)
    trim = skippedStep('trim', `${via} does not trim (an agent older than this memwarden)`);
  else if (t.call === undefined)
    trim = skippedStep('trim', t.skipped ?? 'no allocator call found in the process');
  else {
    trim = { step: 'trim', ran: true, via: `${t.call} through ctypes, in the same visit` };
    if (t.released !== undefined) trim.details = { released: t.released };
    if (t.rssBeforeBytes !== undefined) trim.rssBefore = t.rssBeforeBytes;
    if (t.rssAfterBytes !== undefined) trim.rssAfter = t.rssAfterBytes;
    if (t.durationMs !== undefined) trim.durationMs = t.durationMs;
  }
  if (t?.allocator !== undefined) trim.allocator = t.allocator;
  return [collect, trim];
}

/**
 * Python: the agent's socket, `sys.remote_exec` (3.14+) or an lldb injection, in that order; the
 * collection and the trim in one visit, so one attach (or none, with the agent) does both.
 */
export const pythonRuntimeProbes: RuntimeProbes = {
  gc: release,
  trim: release,
  async snapshot(target, path, options) {
    const s = await pythonSnapshot(target.pid, {
      expect: target,
      outFile: path,
      top: PYTHON_SNAPSHOT_TYPES,
      ...timeout(options),
    });
    return {
      via: s.path,
      version: s.pythonVersion,
      bytes: statSync(path).size,
      details: {
        types: s.types.length,
        gcObjects: s.gcObjects,
        tracemallocStartedNow: s.tracemallocStartedNow,
      },
    };
  },
  snapshotExtension: '.json',
  releasePlan(target) {
    const allocator = detectAllocator(target.pid);
    const call =
      allocator === undefined
        ? "the allocator's release call (none found: musl?)"
        : `${allocator.call} (${allocator.name})`;
    return [
      '1. collect: gc.collect() inside the interpreter (frees objects in reference cycles)',
      `2. trim: ${call} through ctypes, in the same visit: no second attach, and through the agent no ptrace at all`,
      'small objects (≤ 512 bytes) live in pymalloc arenas, which return only when wholly empty',
    ];
  },
  availability(target) {
    const p = pythonProbes(target.pid);
    const preferred = p.paths.find((path) => path.path === p.preferred);
    if (preferred === undefined) {
      const reason =
        p.reason ?? p.paths.map((path) => `${path.path}: ${path.reason ?? 'unavailable'}`).join('; ');
      return (['gc', 'snapshot', 'trim'] as const).map((probe) => ({ probe, possible: false, reason }));
    }
    const via = `${preferred.path}${preferred.socket ? ` (${preferred.socket})` : ''}`;
    return [
      { probe: 'gc', possible: true, via, reason: 'gc.collect(), then the heap trimmed in the same visit' },
      { probe: 'snapshot', possible: true, via, reason: 'object counts by type and tracemalloc sites' },
      {
        probe: 'trim',
        possible: true,
        via,
        reason: "right after gc.collect(): malloc_trim(0), or jemalloc's/tcmalloc's call, through ctypes",
      },
    ];
  },
};
