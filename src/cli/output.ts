/**
 * A reader that stops reading (`memwarden ps --all | head -1`) closes our stdout: the next write
 * fails with EPIPE. That is the reader's choice, not our failure, so it ends the command quietly
 * with exit 0, as `ps` and `grep` do. A streaming command (watch) registers a way to stop cleanly,
 * so its history is flushed; every other command simply ends.
 */
import { errnoCode } from '../errors.js';

const stoppers = new Set<() => void>();
let closed = false;

/** True once stdout's reader has gone: there is no one left to print for. */
export function stdoutClosed(): boolean {
  return closed;
}

/** Calls `stop` when stdout's reader goes away; returns the function that unregisters it. */
export function onStdoutClosed(stop: () => void): () => void {
  stoppers.add(stop);
  return () => stoppers.delete(stop);
}

function isGoneReader(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

/**
 * Installs the handlers: EPIPE on stdout stops the command with exit 0 (through the registered
 * stoppers when there are any); on stderr it is ignored, since there is nowhere left to say it.
 * Any other write error stays an error.
 */
export function guardOutput(exit: (code: number) => void): void {
  process.stdout.on('error', (err) => {
    if (!isGoneReader(err)) throw err;
    if (closed) return;
    closed = true;
    if (stoppers.size === 0) {
      exit(0);
      return;
    }
    for (const stop of stoppers) stop();
  });
  process.stderr.on('error', (err) => {
    if (!isGoneReader(err)) throw err;
  });
}
