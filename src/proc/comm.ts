/**
 * A process's comm is the name of its main thread, and Node 24 and later name theirs, whatever
 * the executable is called: `MainThread` on Node 24, `node-MainThread` on Node 26 (seen on
 * 24.22 and 26.12). Such a process is Node, and its name is `node`, as on older versions and as
 * users look for it (`--name node`); any other comm is the name.
 */
const NODE_MAIN_THREAD = new Set(['MainThread', 'node-MainThread']);

export function processName(comm: string): string {
  return NODE_MAIN_THREAD.has(comm) ? 'node' : comm;
}
