/** A real `memwarden watch` with its dashboard, started as a user would, always reaped. */
import type { ChildProcess } from 'node:child_process';
import { BIN, CLI_ENV } from './cli.js';
import { start, waitForLines } from './processes.js';

export interface ServedWatcher {
  child: ChildProcess;
  port: number;
  /** Every stdout line so far (`--json` records). */
  lines: string[];
}

/**
 * Starts `memwarden watch ARGS --listen 127.0.0.1:0` (through `prefix`, e.g. a `prlimit`
 * command) and resolves once the dashboard's address is printed.
 */
export async function startServedWatcher(
  args: readonly string[],
  prefix: readonly string[] = [],
): Promise<ServedWatcher> {
  const argv = [...prefix, process.execPath, BIN, 'watch', ...args, '--listen', '127.0.0.1:0'];
  const child = start(argv[0] as string, argv.slice(1), { env: CLI_ENV });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const [line] = await waitForLines(child, /dashboard on http:\/\/127\.0\.0\.1:\d+\//, {
    stream: 'stderr',
    timeoutMs: 20_000,
  });
  const port = Number(/127\.0\.0\.1:(\d+)\//.exec(line ?? '')?.[1]);
  return { child, port, lines };
}

/** Resolves once `test` holds for the watcher's output, polling; rejects after `timeoutMs`. */
export function waitForOutput(
  watcher: ServedWatcher,
  test: (lines: readonly string[]) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  return waitForCondition(
    () => {
      if (watcher.child.exitCode !== null || watcher.child.signalCode !== null)
        throw new Error(`the watcher exited before ${what}`);
      return test(watcher.lines);
    },
    what,
    timeoutMs,
  );
}

/** Resolves once `test` holds, polling; rejects after `timeoutMs` or when `test` throws. */
export async function waitForCondition(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The highest cycle number the watcher has printed so far (its `--json` system records). */
export function lastCycle(watcher: ServedWatcher): number {
  let last = 0;
  for (const line of watcher.lines) {
    const m = /"kind":"system","cycle":(\d+)/.exec(line);
    if (m) last = Math.max(last, Number(m[1]));
  }
  return last;
}
