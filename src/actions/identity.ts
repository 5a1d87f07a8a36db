import type { ProcessIdentity } from '../proc/index.js';
import type { ResultCode } from './spec.js';

/** Where a pid's current identity is read from: a ProcReader, which reads it fresh from /proc. */
export interface IdentitySource {
  identity(pid: number): ProcessIdentity | undefined;
}

export type IdentityCheck = { ok: true } | { ok: false; code: ResultCode; message: string };

/**
 * Compares the identity a rule decided on with the one the pid has now. A start time of 0 (or
 * none) proves nothing either way (psutil #2895): such a process is not taken for a reused pid,
 * but it is not acted on either. Start times have clock-tick precision: two processes started
 * in the same 10 ms at the same pid are indistinguishable here, which only a pidfd would close.
 */
export function checkIdentity(expected: ProcessIdentity, source: IdentitySource): IdentityCheck {
  const current = source.identity(expected.pid);
  if (current === undefined) {
    return { ok: false, code: 'ESRCH', message: `pid ${expected.pid} is gone` };
  }
  if (!isKnown(expected.startTicks) || !isKnown(current.startTicks)) {
    return {
      ok: false,
      code: 'IDENTITY_UNKNOWN',
      message: `pid ${expected.pid} has no readable start time; its identity cannot be confirmed`,
    };
  }
  if (current.startTicks !== expected.startTicks) {
    return {
      ok: false,
      code: 'PID_REUSED',
      message: `pid ${expected.pid} was reused (start ${expected.startTicks} → ${current.startTicks}); the new process is left alone`,
    };
  }
  return { ok: true };
}

function isKnown(startTicks: number | undefined): boolean {
  return startTicks !== undefined && Number.isFinite(startTicks) && startTicks > 0;
}
