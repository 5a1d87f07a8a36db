import { type ActionKind, DESTRUCTIVE_ACTIONS } from '../rules/index.js';
import type { ProcessSample } from '../sample/index.js';

export type { ActionKind, ActionSpec } from '../rules/index.js';

/** Why an action happens, and to which process as it was seen when the rule decided. */
export interface ActionContext {
  /** The config's target name. */
  target: string;
  /** The sample the rule saw: its (pid, startTicks) is the identity checked again before acting. */
  sample: ProcessSample;
  rule: string;
  /** The event's one-line description (`rss 612 MiB > 500 MB for 3m`). */
  message: string;
  /** The daemon's cycle number: within one cycle a process gets at most one destructive action. */
  cycle: number;
  /** The values the rule compared, for the webhook payload (`{ rssBytes: 641728512 }`). */
  values?: Record<string, number | string>;
}

/**
 * Stable reasons for a result, matched on by the daemon and stored:
 * - `EPERM`, `ESRCH`: the kernel's answer to a signal (ESRCH: the process is gone).
 * - `PID_REUSED`: the pid now belongs to another process; nothing was done to it.
 * - `IDENTITY_UNKNOWN`: a start time of 0 or unreadable; not taken as reuse, but not acted on either.
 * - `PROTECTED`: pid 1, memwarden itself or its parent, a kernel thread or a zombie.
 * - `SUPPRESSED_OVERLAP`: another destructive action already took this process this cycle, or
 *   the guard holds it while its chain runs.
 * - `DROPPED`: a queue was full (per process, or the webhook retry queue).
 * - `TIMEOUT`, `EXIT_STATUS` (non-zero exit or killed), `SPAWN_FAILED`: exec and probes.
 * - `HTTP_STATUS`, `REDIRECT`, `NETWORK`, `BAD_URL`: webhooks.
 * - `NOT_AVAILABLE`, `NOT_SUPERVISED`, `GAVE_UP`: the action cannot apply here.
 * - `CANCELLED`: the runner was closed first. `FAILED`: anything else.
 */
export type ResultCode =
  | 'EPERM'
  | 'ESRCH'
  | 'PID_REUSED'
  | 'IDENTITY_UNKNOWN'
  | 'PROTECTED'
  | 'SUPPRESSED_OVERLAP'
  | 'DROPPED'
  | 'TIMEOUT'
  | 'EXIT_STATUS'
  | 'SPAWN_FAILED'
  | 'HTTP_STATUS'
  | 'REDIRECT'
  | 'NETWORK'
  | 'BAD_URL'
  | 'NOT_AVAILABLE'
  | 'NOT_SUPERVISED'
  | 'GAVE_UP'
  | 'CANCELLED'
  | 'FAILED';

export interface CapturedOutput {
  stdout: string;
  stderr: string;
  /** True when either stream was longer than the cap. */
  truncated: boolean;
}

/** One carried-out (or refused) action, for the log and the store. */
export interface ActionResult {
  action: ActionKind;
  target: string;
  rule: string;
  pid: number;
  startTicks: number;
  ok: boolean;
  code?: ResultCode;
  message: string;
  /** Wall-clock time the result was produced, ms since the epoch (for storage). */
  time: number;
  /** From `run()` to the result, including time spent queued. */
  durationMs: number;
  output?: CapturedOutput;
  /** exec: the exit status, when it exited on its own. */
  exitCode?: number;
  /** webhook: how many requests were made. */
  attempts?: number;
  /** gc, snapshot, trim: what the probe reports (bytes freed, the snapshot's path…). */
  details?: Record<string, unknown>;
}

/** Actions that change the process (or may): at most one of them per process and cycle. */
export function isDestructive(kind: ActionKind): boolean {
  return DESTRUCTIVE_ACTIONS.has(kind);
}
