/**
 * runtimes/node: a running Node.js process through its inspector — opened with SIGUSR1 only
 * after the executable is confirmed to be Node, trusted only once the listening socket is the
 * target's own and `process.pid` over it matches, and closed again afterwards.
 */

export { nodeRuntimeProbes } from './adapter.js';
export { CdpClient, type CdpEvent, evaluate } from './cdp.js';
export {
  DEFAULT_INSPECTOR_PORT,
  exposedHost,
  isLoopbackHost,
  parseInspectorFlags,
  splitNodeOptions,
} from './port.js';
export {
  type HeapUsage,
  type NodeGcResult,
  type NodeSnapshotResult,
  nodeCollectGarbage,
  nodeHeapSnapshot,
  nodeHeapSnapshots,
  type SnapshotProgress,
} from './probes.js';
export { closeInspector, type InspectorOptions, type InspectorSession, openInspector } from './session.js';
