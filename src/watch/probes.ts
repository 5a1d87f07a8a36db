import { mkdirSync } from 'node:fs';
import type { ProbeOutcome, ResultCode, RuntimeProbes } from '../actions/index.js';
import { isMemwardenError, unreachable } from '../errors.js';
import { ProcReader } from '../proc/index.js';
import {
  collectGarbage,
  type GcResult,
  releaseLine,
  type SnapshotResult,
  takeSnapshot,
  trimMemory,
} from '../runtimes/index.js';
import type { ActionHandler } from '../ui/index.js';
import { formatBytes } from '../units/index.js';
import { probePolicy, refusalReason } from './probe-users.js';

function resultCode(err: unknown): ResultCode {
  if (!isMemwardenError(err)) return 'FAILED';
  switch (err.code) {
    case 'MW_NO_PROCESS':
      return 'ESRCH';
    case 'MW_PID_REUSED':
      return 'PID_REUSED';
    case 'MW_PROTECTED':
      return 'PROTECTED';
    case 'MW_TIMEOUT':
      return 'TIMEOUT';
    case 'MW_UNSUPPORTED':
      return 'NOT_AVAILABLE';
    case 'MW_PERMISSION':
      return 'EPERM';
    case 'MW_USAGE':
    case 'MW_CONFIG':
    case 'MW_BAD_VALUE':
    case 'MW_NO_PIDFILE':
    case 'MW_INPUT':
    case 'MW_FAILED':
      return 'FAILED';
    default:
      return unreachable(err.code);
  }
}

async function outcome<T>(
  run: Promise<T>,
  describe: (r: T) => string,
  details: (r: T) => Record<string, unknown>,
): Promise<ProbeOutcome> {
  try {
    const r = await run;
    return { ok: true, message: describe(r), details: details(r) };
  } catch (err) {
    return { ok: false, code: resultCode(err), message: err instanceof Error ? err.message : String(err) };
  }
}

/** A release in one line: what came back and which way the runtime was reached. */
function released(r: GcResult): string {
  return `${releaseLine(r)} via ${r.via}`;
}

function wrote(r: SnapshotResult): string {
  return `wrote ${r.path} (${formatBytes(r.bytes)})`;
}

function releaseDetails(r: GcResult): Record<string, unknown> {
  return {
    runtime: r.runtime,
    rssBefore: r.rssBefore,
    rssAfterCollect: r.rssAfterCollect,
    rssAfterTrim: r.rssAfterTrim,
    rssAfter: r.rssAfter,
    freedBytes: r.freedBytes,
    heapUsedBefore: r.heapUsedBefore,
    heapUsedAfter: r.heapUsedAfter,
    steps: r.steps,
    ...(r.reason === undefined ? {} : { reason: r.reason }),
  };
}

/**
 * The runtime probes as the action runner calls them, for the `gc`, `snapshot` and `trim`
 * actions of rules. Each gets the identity the runner has just confirmed, and the probes check
 * it again right before they act. Snapshots go to `snapshotDir` (created 0700). Every time a
 * runtime is woken from outside (an inspector opened with SIGUSR1), `onActivate` hears of it:
 * that window is when any local user could reach the inspector, so it is kept on record.
 */
export function actionProbes(
  snapshotDir: string,
  onActivate: (pid: number, detail: string) => void,
  probeUids?: readonly number[],
): RuntimeProbes {
  const policy = probePolicy(probeUids, process.geteuid?.() ?? -1);
  /** Scenario 40a: a runtime is opened up only in the processes of allowed users. */
  const refusal = (pid: number): ProbeOutcome | undefined => {
    const reader = new ProcReader();
    const uid = reader.read(pid)?.uid;
    reader.close();
    if (uid === undefined) return { ok: false, code: 'ESRCH', message: `pid ${pid} is gone` };
    if (policy.uids.includes(uid)) return undefined;
    return {
      ok: false,
      code: 'PROTECTED',
      message: `pid ${pid} belongs to uid ${uid}; ${refusalReason(policy, uid)}`,
    };
  };
  return {
    gc: (pid, identity, o) =>
      Promise.resolve(
        refusal(pid) ??
          outcome(collectGarbage(identity, { timeoutMs: o.timeoutMs, onActivate }), released, releaseDetails),
      ),
    trim: (pid, identity, o) =>
      Promise.resolve(
        refusal(pid) ??
          outcome(trimMemory(identity, { timeoutMs: o.timeoutMs, onActivate }), released, releaseDetails),
      ),
    snapshot: (pid, identity, o) => {
      const refused = refusal(pid);
      if (refused) return Promise.resolve(refused);
      mkdirSync(snapshotDir, { recursive: true, mode: 0o700 });
      return outcome(
        takeSnapshot(identity, undefined, { timeoutMs: o.timeoutMs, directory: snapshotDir, onActivate }),
        wrote,
        (r) => ({ path: r.path, bytes: r.bytes, runtime: r.runtime, pid }),
      );
    },
  };
}

/**
 * gc and snapshot straight through the runtime probes, for `top`, which has no action runner:
 * for the process as the asker saw it, so that with its start time a pid reused since is
 * refused. Expected failures come back as a message.
 */
export const probeActions: ActionHandler = async (request) => {
  const target =
    request.startTicks === undefined ? request.pid : { pid: request.pid, startTicks: request.startTicks };
  try {
    // The same release as `memwarden gc`: the collection, then the trim.
    if (request.action === 'gc') return { ok: true, message: released(await collectGarbage(target)) };
    return { ok: true, message: wrote(await takeSnapshot(target, undefined)) };
  } catch (err) {
    if (!isMemwardenError(err)) throw err;
    return { ok: false, message: err.message };
  }
};
