import { isMemwardenError } from '../../errors.js';
import type { ProcessIdentity } from '../../proc/index.js';
import type { RuntimeInfo } from '../detect.js';
import {
  type ProbeAvailability,
  type ProbeOptions,
  type ReleaseStep,
  type RuntimeProbes,
  skippedStep,
  timeout,
} from '../probe.js';
import { type NativeTrimResult, nativeProbes, nativeTrim } from './trim.js';

function trimmed(r: NativeTrimResult): ReleaseStep {
  const step: ReleaseStep = {
    step: 'trim',
    ran: true,
    via: `${r.call} through lldb`,
    allocator: r.allocator,
    durationMs: r.durationMs,
    details: r.released === undefined ? {} : { released: r.released },
  };
  if (r.rssBeforeBytes !== undefined) step.rssBefore = r.rssBeforeBytes;
  if (r.rssAfterBytes !== undefined) step.rssAfter = r.rssAfterBytes;
  return step;
}

/**
 * The heap's free pages back to the system, as one release step: the process's allocator's own
 * call (malloc_trim, mallctl purge, MallocExtension) made through lldb. Used after a Node.js
 * collection and for native processes. Never throws for a step that cannot run or fails: the
 * step says so, and the collection before it keeps its figures.
 */
export async function heapTrimStep(target: ProcessIdentity, options: ProbeOptions): Promise<ReleaseStep> {
  const probes = nativeProbes(target.pid);
  const allocator = probes.allocator?.name;
  if (!probes.trim.available) {
    const step = skippedStep('trim', probes.trim.reason ?? 'not possible here');
    if (allocator !== undefined) step.allocator = allocator;
    return step;
  }
  try {
    return trimmed(await nativeTrim(target.pid, { intrusive: true, expect: target, ...timeout(options) }));
  } catch (err) {
    if (!isMemwardenError(err)) throw err;
    const step: ReleaseStep = { step: 'trim', ran: false, error: err.message, code: err.code };
    if (allocator !== undefined) step.allocator = allocator;
    return step;
  }
}

/** What a trim can do in `target`, for `inspect`: the allocator, its call, and why not. */
export function heapTrimAvailability(target: RuntimeInfo): Omit<ProbeAvailability, 'probe'> {
  const n = nativeProbes(target.pid);
  const a = n.allocator;
  const where = a === undefined ? '' : `${a.name} (${a.library}): ${a.call} through lldb`;
  if (!n.trim.available) {
    return {
      possible: false,
      reason: a === undefined ? (n.trim.reason ?? '') : `${where}, but ${n.trim.reason}`,
    };
  }
  return { possible: true, via: 'lldb', reason: where };
}

/**
 * Native processes have no collector: `trim` makes their allocator give free pages back, through
 * lldb, and only when asked for explicitly (it stops the process for the call).
 */
export const nativeRuntimeProbes: RuntimeProbes = {
  async trim(target, options) {
    // The trim is the whole operation here, so its failure is the operation's.
    const r = await nativeTrim(target.pid, { intrusive: true, expect: target, ...timeout(options) });
    const trim = trimmed(r);
    return {
      via: trim.via ?? r.call,
      steps: [skippedStep('collect', 'a native process has no garbage collector'), trim],
    };
  },
  releasePlan(target) {
    const t = heapTrimAvailability(target);
    return [
      'no collection: a native process has no garbage collector',
      t.possible
        ? `trim (gc --trim, the trim action only): ${t.reason}; it stops the process for the call`
        : `trim: not possible here (${t.reason})`,
    ];
  },
  availability(target) {
    return [
      {
        probe: 'gc',
        possible: false,
        reason: 'a native process has no garbage collector: trim (gc --trim) asks its allocator instead',
      },
      { probe: 'snapshot', possible: false, reason: 'no heap snapshot for native processes' },
      { probe: 'trim', ...heapTrimAvailability(target) },
    ];
  },
};
