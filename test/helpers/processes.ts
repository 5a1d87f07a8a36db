/**
 * Real processes for tests, always reaped: every child started here is killed (its whole process
 * group) in the `after` hook of the file that started it, and again on process exit in case a
 * test runner aborts the file.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { after } from 'node:test';

const live = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function reapAll(): void {
  for (const child of live) killGroup(child);
  live.clear();
}

after(reapAll);
process.on('exit', reapAll);

/** Starts a process in its own process group so that it and its descendants die together. */
export function start(
  command: string,
  args: readonly string[] = [],
  options: SpawnOptions = {},
): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('child has no pid (spawn failed)');
  return child.pid;
}

/** Resolves with the first stdout line matching `pattern`; rejects if the child exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => finish(new Error(`timed out waiting for ${pattern}; got: ${buffered}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) finish(undefined, line);
    };
    const onExit = (code: number | null) =>
      finish(new Error(`exited (${code}) before ${pattern}; got: ${buffered}`));
    function finish(err?: Error, line?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line ?? '');
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Waits until `/proc/<pid>/cmdline` shows the process has exec'd into something matching. */
export async function waitForExec(pid: number, needle: string, timeoutMs = 5000): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await readFile(`/proc/${pid}/cmdline`, 'latin1')).includes(needle)) return;
    } catch {
      // not there yet or gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} never showed '${needle}' in its cmdline`);
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
