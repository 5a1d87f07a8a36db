import { spawn } from 'node:child_process';
import { MemwardenError } from '../../errors.js';
import type { ProcessIdentity } from '../../proc/index.js';
import { findOnPath } from '../debugger.js';
import { environOf, recheckIdentity } from '../target-checks.js';
import { type PythonInfo, pythonInfo } from './detect.js';
import { injectedLine, type ProbeCommand } from './payload.js';
import type { Scratch } from './scratch.js';

const POLL_MS = 20;
const STDERR_CAP_BYTES = 16 * 1024;

/** Why a 3.14+ target refuses remote execution, read from how it was started; undefined when it does not. */
export function remoteExecDisabled(pid: number, cmdline: readonly string[]): string | undefined {
  const env = environOf(pid);
  if (env?.get('PYTHON_DISABLE_REMOTE_DEBUG'))
    return 'disabled by target (PYTHON_DISABLE_REMOTE_DEBUG is set)';
  for (let i = 1; i < cmdline.length; i++) {
    const arg = cmdline[i];
    if (arg === '-X' && cmdline[i + 1] === 'disable_remote_debug')
      return 'disabled by target (-X disable_remote_debug)';
    if (arg === '-Xdisable_remote_debug') return 'disabled by target (-X disable_remote_debug)';
  }
  return undefined;
}

/**
 * The interpreter that asks: sys.remote_exec needs the target's own major.minor, so the target's
 * executable when it is one (/proc/<pid>/exe runs even after an upgrade deleted the file), else
 * `python3.X` on PATH.
 */
export function remoteExecInterpreter(info: PythonInfo): string | undefined {
  if (info.via === 'exe') return `/proc/${info.pid}/exe`;
  return info.version === undefined ? undefined : findOnPath([`python${info.version}`]);
}

/**
 * Runs a probe through PEP 768's sys.remote_exec (Python 3.14+). The call only schedules the
 * script: the target runs it at its next safe point, so the answer is awaited until the deadline.
 * The script file sits in a 0700 directory, created with O_EXCL, and is checked against its hash
 * right before the target is told where it is.
 */
export async function injectWithRemoteExec(
  identity: ProcessIdentity,
  info: PythonInfo,
  command: ProbeCommand,
  args: Readonly<Record<string, number>>,
  scratch: Scratch,
  options: { timeoutMs: number },
): Promise<unknown> {
  const { pid } = identity;
  const deadline = performance.now() + options.timeoutMs;
  const interpreter = remoteExecInterpreter(info);
  if (interpreter === undefined) {
    throw new MemwardenError(
      'MW_UNSUPPORTED',
      `no python${info.version ?? '3.x'} found to call sys.remote_exec with`,
    );
  }
  const digest = scratch.writeNew(
    'probe.py',
    `${injectedLine(command, args, scratch.path('answer.json'))}\n`,
  );
  recheckIdentity(identity);
  if (!pythonInfo(pid)) throw new MemwardenError('MW_UNSUPPORTED', `pid ${pid} is no longer running Python`);
  scratch.verify('probe.py', digest);
  await callRemoteExec(interpreter, pid, scratch.path('probe.py'), options.timeoutMs);
  for (;;) {
    const answer = scratch.readAnswer('answer.json');
    if (answer !== undefined) return answer;
    if (performance.now() >= deadline) {
      throw new MemwardenError(
        'MW_TIMEOUT',
        `pid ${pid} accepted the script but did not run it within ${options.timeoutMs} ms (blocked in a C call?)`,
      );
    }
    recheckIdentity(identity);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function callRemoteExec(interpreter: string, pid: number, script: string, timeoutMs: number): Promise<void> {
  const code = 'import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])';
  return new Promise((resolve, reject) => {
    // -I: the user's PYTHONPATH and site-packages have no say in what we run.
    const child = spawn(interpreter, ['-I', '-c', code, String(pid), script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_CAP_BYTES) stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new MemwardenError('MW_FAILED', `could not run ${interpreter}: ${err.message}`));
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      if (exitCode === 0) return resolve();
      const last = stderr.trim().split('\n').at(-1) ?? '';
      if (signal === 'SIGKILL') {
        return reject(new MemwardenError('MW_TIMEOUT', `sys.remote_exec on pid ${pid} timed out`));
      }
      if (/PermissionError|Operation not permitted/.test(stderr)) {
        return reject(
          new MemwardenError(
            'MW_PERMISSION',
            `sys.remote_exec on pid ${pid} was refused (${last}): check kernel.yama.ptrace_scope and CAP_SYS_PTRACE`,
          ),
        );
      }
      if (/disabled/i.test(stderr)) {
        return reject(
          new MemwardenError('MW_UNSUPPORTED', `remote execution is disabled by target pid ${pid}: ${last}`),
        );
      }
      reject(
        new MemwardenError(
          'MW_FAILED',
          `sys.remote_exec on pid ${pid} failed: ${last || `exit code ${exitCode}`}`,
        ),
      );
    });
  });
}
