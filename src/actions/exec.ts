import { type ChildProcess, spawn } from 'node:child_process';
import { errnoCode } from '../errors.js';
import type { CapturedOutput, ResultCode } from './spec.js';

export interface ExecOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Between SIGTERM and SIGKILL to the command's process group on timeout. */
  killGraceMs: number;
  /** The user to run as; memwarden's own when absent. */
  user?: { uid: number; gid: number };
  /** The directory to run in; a relative program (`./notify.sh`) is found from there. */
  cwd?: string;
}

export interface ExecOutcome {
  ok: boolean;
  code?: ResultCode;
  message: string;
  output: CapturedOutput;
  exitCode?: number;
}

/** After the command exits, how long to wait for its pipes to close (a daemon it forked may hold them). */
const DRAIN_AFTER_EXIT_MS = 200;

/**
 * Runs a command without a shell, in its own process group so that a timeout can stop everything
 * it started (supervisord's killasgroup). Output beyond the cap is read and dropped rather than
 * left in the pipe, where it would block the command until the timeout. Always resolves, and only
 * once the command has been reaped.
 */
export function runCommand(options: ExecOptions): Promise<ExecOutcome> {
  const [program, ...args] = options.argv;
  const stdout = new CappedBuffer(options.maxOutputBytes);
  const stderr = new CappedBuffer(options.maxOutputBytes);
  const output = (): CapturedOutput => ({
    stdout: stdout.text(),
    stderr: stderr.text(),
    truncated: stdout.truncated || stderr.truncated,
  });
  if (program === undefined || program === '') {
    return Promise.resolve({ ok: false, code: 'SPAWN_FAILED', message: 'empty argv', output: output() });
  }

  let child: ChildProcess;
  try {
    child = spawn(program, args, {
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env,
      cwd: options.cwd,
      uid: options.user?.uid,
      gid: options.user?.gid,
    });
  } catch (err) {
    // Invalid arguments (a NUL byte in argv) throw here instead of emitting 'error'.
    const message = `cannot run ${program}: ${err instanceof Error ? err.message : String(err)}`;
    return Promise.resolve({ ok: false, code: 'SPAWN_FAILED', message, output: output() });
  }

  return new Promise((resolve) => {
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;

    const signalGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is already empty
      }
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), options.killGraceMs);
    }, options.timeoutMs);

    const finish = (outcome: ExecOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(drainTimer);
      // After a timeout the leader may have obeyed SIGTERM while something it started did not:
      // the group still gets its SIGKILL.
      if (timedOut) killTimer?.unref();
      else clearTimeout(killTimer);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(outcome);
    };
    const finishExited = () => {
      if (exit === undefined) return;
      if (timedOut) {
        finish({
          ok: false,
          code: 'TIMEOUT',
          message: `${program} did not finish within ${options.timeoutMs} ms and was stopped`,
          output: output(),
        });
      } else if (exit.code === 0) {
        finish({ ok: true, message: `${program} exited 0`, output: output(), exitCode: 0 });
      } else if (exit.code !== null) {
        finish({
          ok: false,
          code: 'EXIT_STATUS',
          message: `${program} exited ${exit.code}`,
          output: output(),
          exitCode: exit.code,
        });
      } else {
        finish({
          ok: false,
          code: 'EXIT_STATUS',
          message: `${program} was killed by ${exit.signal}`,
          output: output(),
        });
      }
    };

    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.once('error', (err) => {
      // spawn failures (ENOENT, EACCES) come here with no exit event to follow
      if (child.pid !== undefined) return;
      finish({
        ok: false,
        code: 'SPAWN_FAILED',
        message: `cannot run ${program}: ${errnoCode(err) ?? err.message}`,
        output: output(),
      });
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      drainTimer = setTimeout(finishExited, DRAIN_AFTER_EXIT_MS);
    });
    child.once('close', finishExited);
  });
}

/** Keeps the first `capBytes` of a stream and counts the rest. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private keptBytes = 0;
  truncated = false;

  constructor(private readonly capBytes: number) {}

  push(chunk: Buffer): void {
    const room = this.capBytes - this.keptBytes;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(Buffer.from(kept));
    this.keptBytes += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
