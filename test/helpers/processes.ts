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

/** Kills every child still running; each leaves `live` when its exit is seen, not before. */
export function reapAll(): void {
  for (const child of live) killGroup(child);
}

/**
 * Kills every child and resolves once each has exited: a process killed inside a write may still
 * finish that one system call, so files it writes are safe to remove only after this. Children
 * an earlier `after` hook has killed are waited for too: they stay in `live` until they exit.
 */
export async function reapAllAndWait(): Promise<void> {
  const exits = [...live]
    .filter((child) => child.pid !== undefined && child.exitCode === null && child.signalCode === null)
    .map((child) => new Promise((resolve) => child.once('exit', resolve)));
  reapAll();
  await Promise.all(exits);
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
export async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const [line] = await waitForLines(child, pattern, { timeoutMs });
  return line ?? '';
}

/**
 * Resolves with the first `count` lines of the child's stdout (or stderr) that match `pattern`;
 * rejects if the child exits first or the time runs out.
 */
export function waitForLines(
  child: ChildProcess,
  pattern: RegExp,
  options: { count?: number; stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {},
): Promise<string[]> {
  const count = options.count ?? 1;
  const stream = child[options.stream ?? 'stdout'];
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => finish(new Error(`timed out waiting for ${pattern}; got: ${buffered}`)),
      options.timeoutMs ?? 10_000,
    );
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n').filter((l) => pattern.test(l));
      if (lines.length >= count) finish(undefined, lines.slice(0, count));
    };
    const onExit = (code: number | null) =>
      finish(new Error(`exited (${code}) before ${count} × ${pattern}; got: ${buffered}`));
    function finish(err?: Error, lines: string[] = []) {
      clearTimeout(timer);
      stream?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(lines);
    }
    stream?.on('data', onData);
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

/** Polls `condition` until it holds; throws with `what` if it never does within the time. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
