/**
 * SIGHUP's default action ends the process, and a watcher can install its reload handler only
 * after its modules have loaded and its config has been read: a SIGHUP in between (a deploy
 * that reloads right after starting) would kill it. The bin holds hangups from its first line,
 * before anything else is loaded; the watch command takes them over. This file imports nothing,
 * so that loading it costs next to nothing.
 */
let held = false;
const hold = (): void => {
  held = true;
};

/** From now on a SIGHUP is remembered instead of ending the process. */
export function holdHangups(): void {
  process.on('SIGHUP', hold);
}

/** Stops holding hangups; true when one arrived meanwhile (the caller then acts on it). */
export function releaseHangups(): boolean {
  process.off('SIGHUP', hold);
  const was = held;
  held = false;
  return was;
}
