import { EXE_UNREADABLE, type RuntimeKind } from './detect.js';
import { nativeRuntimeProbes } from './native/index.js';
import { nodeRuntimeProbes } from './node/index.js';
import type { RuntimeProbes } from './probe.js';
import { pythonRuntimeProbes } from './python/index.js';

/** The one dispatch point from a runtime to its probes. */
export const RUNTIME_PROBES: Record<RuntimeKind, RuntimeProbes> = {
  node: nodeRuntimeProbes,
  python: pythonRuntimeProbes,
  native: nativeRuntimeProbes,
  unknown: {
    availability: (target) =>
      (['gc', 'snapshot', 'trim'] as const).map((probe) => ({
        probe,
        possible: false,
        reason: `${target.exeUnreadable ?? EXE_UNREADABLE}, so its runtime is unknown`,
      })),
  },
};
