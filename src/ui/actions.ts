import { isMemwardenError } from '../errors.js';
import { collectGarbage, releaseLine, takeSnapshot } from '../runtimes/index.js';
import { formatBytes } from '../units/index.js';

/** What the dashboard and `top` may ask of a process's runtime. */
export type ActionKind = 'gc' | 'snapshot';

export interface ActionRequest {
  pid: number;
  /** The start time (clock ticks since boot) the asker saw: a pid reused since then is not it. */
  startTicks?: number;
  action: ActionKind;
  /** Who asked, for the record: `uid 1000 (alice)`, `the token holder`. */
  askedBy?: string;
}

export interface ActionResult {
  ok: boolean;
  /** One line for the user: what happened, or why not. */
  message: string;
}

/** Carries out an action; the runtimes part provides it. Must not throw for an expected failure. */
export type ActionHandler = (request: ActionRequest) => Promise<ActionResult>;

export function isActionKind(value: unknown): value is ActionKind {
  return value === 'gc' || value === 'snapshot';
}

/**
 * gc and snapshot through the runtime probes, for the process as the asker saw it: with its
 * start time, a pid reused since is refused. Expected failures come back as a message.
 */
export const probeActions: ActionHandler = async (request) => {
  const target =
    request.startTicks === undefined ? request.pid : { pid: request.pid, startTicks: request.startTicks };
  try {
    if (request.action === 'gc') {
      // The same release as `memwarden gc`: the collection, then the trim.
      const r = await collectGarbage(target);
      return { ok: true, message: `${releaseLine(r)} via ${r.via}` };
    }
    const r = await takeSnapshot(target, undefined);
    return { ok: true, message: `wrote ${r.path} (${formatBytes(r.bytes)})` };
  } catch (err) {
    if (!isMemwardenError(err)) throw err;
    return { ok: false, message: err.message };
  }
};
