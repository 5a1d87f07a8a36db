import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';

/** What the kernel accepts here: 500 ms of stall within a 2 s window (shorter windows were refused). */
export const DEFAULT_PRESSURE_TRIGGER = 'some 500000 2000000';

/**
 * Node has no poll(2) for an arbitrary fd, and fs.watch sees nothing on procfs, so the wait for
 * POLLPRI is done by a small Python process: it opens the pressure file O_RDWR|O_NONBLOCK,
 * writes the trigger, says `armed`, and prints `event` each time the kernel signals. It also
 * polls its stdin, a pipe nothing is ever written to: the hang-up that comes when the watcher
 * exits, even by SIGKILL, ends it, so no waiter outlives its watcher.
 */
const WAITER = `
import os, select, sys
try:
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_NONBLOCK)
    os.write(fd, (sys.argv[2] + "\\0").encode())
except OSError as e:
    print("refused " + (os.strerror(e.errno) if e.errno else str(e)), flush=True)
    sys.exit(0)
p = select.poll()
p.register(fd, select.POLLPRI)
p.register(0, select.POLLIN | select.POLLHUP)
print("armed", flush=True)
while True:
    for which, ev in p.poll():
        if which == 0:
            sys.exit(0)
        if ev & select.POLLERR:
            print("refused the file went away", flush=True)
            sys.exit(0)
        if ev & select.POLLPRI:
            print("event", flush=True)
`;

export interface PressureTriggerEvents {
  /** The kernel saw the pressure the trigger asks for. */
  pressure: [];
}

/**
 * A PSI trigger on a pressure file (`/proc/pressure/memory`, a cgroup v2 `memory.pressure`).
 * `arm()` resolves with `armed`, or with why the kernel (or the machine) refused: not root, no
 * PSI, no python3; the caller then polls the file instead, and says which.
 */
export class PressureTrigger extends EventEmitter<PressureTriggerEvents> {
  private child: ChildProcess | undefined;

  constructor(
    readonly path = '/proc/pressure/memory',
    readonly trigger = DEFAULT_PRESSURE_TRIGGER,
  ) {
    super();
  }

  arm(): Promise<{ armed: true } | { armed: false; reason: string }> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: { armed: true } | { armed: false; reason: string }) => {
        if (settled) return;
        settled = true;
        if (!result.armed) this.close();
        resolve(result);
      };
      let child: ChildProcess;
      try {
        child = spawn('python3', ['-c', WAITER, this.path, this.trigger], {
          stdio: ['pipe', 'pipe', 'ignore'],
        });
      } catch (err) {
        settle({ armed: false, reason: `cannot start python3 (${String(err)})` });
        return;
      }
      this.child = child;
      child.on('error', (err) => settle({ armed: false, reason: `cannot start python3 (${err.message})` }));
      child.on('exit', () => settle({ armed: false, reason: 'the waiting process exited' }));
      let buffered = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line === 'armed') settle({ armed: true });
          else if (line === 'event') this.emit('pressure');
          else if (line.startsWith('refused '))
            settle({ armed: false, reason: line.slice('refused '.length) });
        }
        // A line without its end is never longer than the longest message.
        if (buffered.length > 4096) buffered = '';
      });
    });
  }

  close(): void {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
