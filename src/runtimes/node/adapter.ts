import type { RuntimeInfo } from '../detect.js';
import { heapTrimAvailability, heapTrimStep } from '../native/index.js';
import {
  type ProbeOptions,
  type ReleaseStep,
  type RuntimeGcOutcome,
  type RuntimeProbes,
  type RuntimeSnapshotOutcome,
  skippedStep,
} from '../probe.js';
import { rssOf } from '../target-checks.js';
import { inspectorAvailability } from './availability.js';
import { type InspectorWindow, inspectorVia, nodeCollectGarbage, nodeHeapSnapshot } from './probes.js';

/** The inspector window as the result's details show it. */
function windowDetails(w: InspectorWindow): Record<string, unknown> {
  return {
    port: w.port,
    activated: w.activated,
    inspectorClosed: w.inspectorClosed,
    exposureMs: Math.round(w.exposureMs),
    foreignConnections: w.foreign,
  };
}

/**
 * A full V8 collection through the inspector, then — since V8 frees Buffers and other memory
 * outside its heap into glibc's malloc, which keeps the chunks — the allocator's trim through
 * lldb, where ptrace is allowed. Where it is not, the trim step says why and the collection's
 * figures stand.
 */
async function release(target: RuntimeInfo, options: ProbeOptions): Promise<RuntimeGcOutcome> {
  const rssBefore = rssOf(target.pid);
  const started = performance.now();
  const r = await nodeCollectGarbage(target, inspectorOptions(options));
  const via = inspectorVia(r.window);
  const collect: ReleaseStep = {
    step: 'collect',
    ran: true,
    via: `full V8 GC through the ${via}`,
    durationMs: performance.now() - started,
    details: {
      heapUsedBefore: r.heapBefore.heapUsed,
      heapUsedAfter: r.heapAfter.heapUsed,
      heapTotalBefore: r.heapBefore.heapTotal,
      heapTotalAfter: r.heapAfter.heapTotal,
    },
  };
  const rssAfter = rssOf(target.pid);
  if (rssBefore !== undefined) collect.rssBefore = rssBefore;
  if (rssAfter !== undefined) collect.rssAfter = rssAfter;
  const trim =
    options.trim === false
      ? skippedStep('trim', 'not asked for (collection only)')
      : await heapTrimStep(target, options);
  const outcome: RuntimeGcOutcome = {
    via,
    steps: [collect, trim],
    heapUsedBefore: r.heapBefore.heapUsed,
    heapUsedAfter: r.heapAfter.heapUsed,
    heapTotalBefore: r.heapBefore.heapTotal,
    heapTotalAfter: r.heapAfter.heapTotal,
    details: { ...windowDetails(r.window), activationMs: Math.round(r.activationMs) },
  };
  if (r.version) outcome.version = r.version.replace(/^v/, '');
  return outcome;
}

/** Node.js through its inspector, and its allocator through lldb. */
export const nodeRuntimeProbes: RuntimeProbes = {
  gc: release,
  trim: release,
  async snapshot(target, path, options) {
    const r = await nodeHeapSnapshot(target, path, {
      ...inspectorOptions(options),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const outcome: RuntimeSnapshotOutcome = {
      via: inspectorVia(r.window),
      bytes: r.bytes,
      details: windowDetails(r.window),
    };
    if (r.version) outcome.version = r.version.replace(/^v/, '');
    return outcome;
  },
  snapshotExtension: '.heapsnapshot',
  releasePlan(target) {
    const t = heapTrimAvailability(target);
    return [
      '1. collect: a full V8 garbage collection through the inspector (frees JS objects and the Buffers they held)',
      t.possible
        ? `2. trim: ${t.reason} (gives the freed malloc chunks back; stops the process for the call)`
        : `2. trim: not possible here (${t.reason}); what the GC frees outside the V8 heap stays in malloc`,
    ];
  },
  availability(target, reader) {
    const a = inspectorAvailability(target, reader);
    const t = heapTrimAvailability(target);
    const trim = t.possible
      ? { ...t, reason: `after the GC, ${t.reason}` }
      : { ...t, reason: `the GC alone: memory it frees stays in the process's malloc (${t.reason})` };
    return [
      { probe: 'gc', ...a },
      { probe: 'snapshot', ...a },
      { probe: 'trim', ...trim },
    ];
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
