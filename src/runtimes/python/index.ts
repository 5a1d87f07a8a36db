/**
 * runtimes/python: reaching into a live CPython from outside to make it give memory back and to
 * see what it holds. Three ways in, tried in this order: the cooperative agent on its private
 * Unix socket (python/memwarden_agent, no ptrace needed), `sys.remote_exec` on Python 3.14+, and
 * lldb injection before 3.14. Every operation re-checks the target's identity and that it still
 * runs Python right before acting, is bounded by a timeout, runs alone on its pid, and leaves the
 * target running.
 */

export { PYTHON_SNAPSHOT_TYPES, pythonRuntimeProbes } from './adapter.js';
export { hasRemoteExec, type PythonInfo, pythonInfo } from './detect.js';
export { pythonGc, pythonProbes, pythonSnapshot } from './operations.js';
export type {
  PathProbe,
  PythonAllocationSite,
  PythonGcResult,
  PythonOptions,
  PythonPath,
  PythonProbes,
  PythonSnapshot,
  PythonSnapshotOptions,
  PythonTypeCount,
} from './types.js';
