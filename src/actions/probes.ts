import type { ProcessIdentity } from '../proc/index.js';
import type { ResultCode } from './spec.js';

export interface ProbeOptions {
  timeoutMs: number;
  /** Aborted when the runner's deadline passes: the probe should detach and leave the target as it was. */
  signal: AbortSignal;
}

export type ProbeOutcome =
  | { ok: true; message: string; details?: Record<string, unknown> }
  | { ok: false; code: ResultCode; message: string };

/**
 * What the runtimes part provides: a garbage collection, a heap snapshot, a malloc_trim inside a
 * running process. Each receives the identity the runner has just confirmed, to check again at
 * its own last moment (attaching an inspector or gdb takes a while).
 */
export interface RuntimeProbes {
  gc(pid: number, identity: ProcessIdentity, options: ProbeOptions): Promise<ProbeOutcome>;
  snapshot(pid: number, identity: ProcessIdentity, options: ProbeOptions): Promise<ProbeOutcome>;
  trim(pid: number, identity: ProcessIdentity, options: ProbeOptions): Promise<ProbeOutcome>;
}
