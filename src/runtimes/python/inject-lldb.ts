import { MemwardenError } from '../../errors.js';
import type { ProcessIdentity } from '../../proc/index.js';
import { expressionValue, lldbExpression, lldbFailure, runLldb } from '../debugger.js';
import { recheckIdentity } from '../target-checks.js';
import { pythonInfo } from './detect.js';
import { injectedLine, type ProbeCommand } from './payload.js';
import type { Scratch } from './scratch.js';

/**
 * Runs a probe inside a live CPython through lldb: one expression takes the GIL, runs the probe,
 * and gives the GIL back, so that no failure between the steps can leave the GIL state taken.
 * The probe writes its answer into `scratch`; lldb's output is only searched for errors.
 */
export async function injectWithLldb(
  identity: ProcessIdentity,
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  scratch: Scratch,
  options: { timeoutMs: number; lldbPath?: string },
): Promise<unknown> {
  const { pid } = identity;
  const line = injectedLine(command, args, scratch.path('answer.json'));
  // An interpreter that is not initialised yet (or finalising) must not be entered: -2 then.
  const call =
    'int __mw_rc = -2; if ((int)Py_IsInitialized()) { ' +
    'int __mw_gil = (int)PyGILState_Ensure(); ' +
    `__mw_rc = (int)PyRun_SimpleString("${line}"); ` +
    '((void (*)(int))PyGILState_Release)(__mw_gil); } __mw_rc';
  // The last look before attaching: the same process, and still Python (not exec'd since).
  recheckIdentity(identity);
  if (!pythonInfo(pid)) {
    throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is no longer running Python (it exec'd)`);
  }
  const run = await runLldb(
    pid,
    [lldbExpression(call, options.timeoutMs), 'process detach'],
    options.lldbPath === undefined
      ? { timeoutMs: options.timeoutMs }
      : { timeoutMs: options.timeoutMs, lldbPath: options.lldbPath },
  );
  const failure = lldbFailure(run, pid, `${command} through lldb`);
  if (failure) throw failure;
  if (run.targetState === undefined) {
    throw new MemwardenError('MW_NO_PROCESS', `pid ${pid} exited during or right after the injection`);
  }
  const answer = scratch.readAnswer('answer.json');
  if (answer === undefined) {
    const rc = expressionValue(run.output);
    throw new MemwardenError(
      'MW_FAILED',
      rc === -2
        ? `the interpreter in pid ${pid} is not initialised (starting up or shutting down); nothing was run`
        : `the probe ran in pid ${pid} but wrote no answer (PyRun_SimpleString returned ${rc ?? 'nothing'})`,
    );
  }
  return answer;
}
