import type {
  ProbeAvailability,
  ProbeOptions,
  RuntimeGcOutcome,
  RuntimeProbes,
  RuntimeSnapshotOutcome,
} from '../probe.js';
import { inspectorAvailability } from './availability.js';
import { nodeCollectGarbage, nodeHeapSnapshot } from './probes.js';

function inspectorVia(activated: boolean, port: number, closed: boolean): string {
  if (!activated) return `its open inspector on port ${port} (left open)`;
  return `inspector on port ${port} (opened with SIGUSR1, ${closed ? 'closed after' : 'COULD NOT BE CLOSED'})`;
}

/** Node.js through its inspector. */
export const nodeRuntimeProbes: RuntimeProbes = {
  async gc(target, options) {
    const r = await nodeCollectGarbage(target, inspectorOptions(options));
    const outcome: RuntimeGcOutcome = {
      via: inspectorVia(r.activated, r.port, r.inspectorClosed),
      heapUsedBefore: r.heapBefore.heapUsed,
      heapUsedAfter: r.heapAfter.heapUsed,
      heapTotalBefore: r.heapBefore.heapTotal,
      heapTotalAfter: r.heapAfter.heapTotal,
      details: {
        port: r.port,
        activated: r.activated,
        inspectorClosed: r.inspectorClosed,
        activationMs: Math.round(r.activationMs),
        exposureMs: Math.round(r.exposureMs),
      },
    };
    if (r.version) outcome.version = r.version.replace(/^v/, '');
    return outcome;
  },
  async snapshot(target, path, options) {
    const r = await nodeHeapSnapshot(target, path, {
      ...inspectorOptions(options),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const outcome: RuntimeSnapshotOutcome = {
      via: inspectorVia(r.activated, r.port, r.inspectorClosed),
      bytes: r.bytes,
      details: { port: r.port, activated: r.activated, inspectorClosed: r.inspectorClosed },
    };
    if (r.version) outcome.version = r.version.replace(/^v/, '');
    return outcome;
  },
  snapshotExtension: '.heapsnapshot',
  availability(target, reader) {
    const a = inspectorAvailability(target, reader);
    const trim: ProbeAvailability = {
      probe: 'trim',
      possible: false,
      reason: 'malloc_trim is for native processes; use gc for Node.js',
    };
    return [{ probe: 'gc', ...a }, { probe: 'snapshot', ...a }, trim];
  },
};

function inspectorOptions(options: ProbeOptions) {
  return {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.reader ? { reader: options.reader } : {}),
    ...(options.onActivate
      ? {
          onActivate: (pid: number, port: number) =>
            options.onActivate?.(pid, `SIGUSR1, inspector port ${port}`),
        }
      : {}),
  };
}
