import { constants } from 'node:os';
import { errnoCode } from '../errors.js';
import type { ResultCode } from './spec.js';

export type SignalOutcome = { ok: true; message: string } | { ok: false; code: ResultCode; message: string };

/**
 * Sends a signal, mapping the kernel's refusals to result codes: EPERM is reported (the daemon
 * stores it, alerts once and lets the cooldown stop retries), ESRCH means the process is gone.
 * Called right after the identity check, in the same turn of the event loop.
 */
export function sendSignal(pid: number, signal: NodeJS.Signals): SignalOutcome {
  if (!(signal in constants.signals)) {
    return { ok: false, code: 'FAILED', message: `unknown signal ${signal}` };
  }
  try {
    process.kill(pid, signal);
    return { ok: true, message: `sent ${signal} to pid ${pid}` };
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EPERM') {
      return { ok: false, code: 'EPERM', message: `not permitted to send ${signal} to pid ${pid}` };
    }
    if (code === 'ESRCH') return { ok: false, code: 'ESRCH', message: `pid ${pid} is gone` };
    return { ok: false, code: 'FAILED', message: `${signal} to pid ${pid} failed: ${code ?? String(err)}` };
  }
}
