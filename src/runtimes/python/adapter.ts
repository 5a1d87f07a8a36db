import { statSync } from 'node:fs';
import { type ProbeAvailability, type RuntimeProbes, timeout } from '../probe.js';
import { pythonGc, pythonProbes, pythonSnapshot } from './operations.js';

/** Types kept in a Python snapshot: enough for a leaking class to be among them. */
export const PYTHON_SNAPSHOT_TYPES = 1000;

/** Python: the agent's socket, `sys.remote_exec` (3.14+) or an lldb injection, in that order. */
export const pythonRuntimeProbes: RuntimeProbes = {
  async gc(target, options) {
    const r = await pythonGc(target.pid, { expect: target, ...timeout(options) });
    return {
      via:
        r.path === 'agent'
          ? 'its memwarden agent'
          : r.path === 'lldb'
            ? 'an lldb injection'
            : 'sys.remote_exec',
      ...(r.pythonVersion ? { version: r.pythonVersion } : {}),
      details: { path: r.path, collected: r.collected },
    };
  },
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
  availability(target) {
    const p = pythonProbes(target.pid);
    const preferred = p.paths.find((path) => path.path === p.preferred);
    const reason = preferred
      ? `through ${preferred.path}${preferred.socket ? ` (${preferred.socket})` : ''}`
      : (p.reason ?? p.paths.map((path) => `${path.path}: ${path.reason ?? 'unavailable'}`).join('; '));
    const possible = preferred !== undefined;
    const trim: ProbeAvailability = {
      probe: 'trim',
      possible: false,
      reason: 'use gc: the interpreter frees its own memory',
    };
    return [{ probe: 'gc', possible, reason }, { probe: 'snapshot', possible, reason }, trim];
  },
};
