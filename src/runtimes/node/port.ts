import { readFileSync } from 'node:fs';

export const DEFAULT_INSPECTOR_PORT = 9229;

const INSPECT_FLAG = /^--(?:inspect|inspect-brk|inspect-wait|inspect-port|debug-port)(?:=(.*))?$/;

/** `9230`, `127.0.0.1:9230`, `[::1]:9230` → 9230; undefined when the value names no port. */
function portOf(value: string): number | undefined {
  const m = /(?:^|:)(\d+)$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[1]);
  return port >= 0 && port <= 65535 ? port : undefined;
}

/** The inspector port set by Node flags in an argv-like list; the last one wins, as in Node. */
function portFromFlags(flags: readonly string[]): number | undefined {
  let port: number | undefined;
  for (const flag of flags) {
    const m = INSPECT_FLAG.exec(flag);
    if (!m) continue;
    const value = m[1] === undefined ? undefined : portOf(m[1]);
    if (value !== undefined) port = value;
  }
  return port;
}

/** Node's own options: those before the script, which come first in argv. */
function nodeOptionsOf(cmdline: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of cmdline.slice(1)) {
    if (!arg.startsWith('-') || arg === '--') break;
    out.push(arg);
  }
  return out;
}

function nodeOptionsEnv(root: string, pid: number): string[] {
  try {
    const environ = readFileSync(`${root}/${pid}/environ`, 'latin1');
    const entry = environ.split('\0').find((e) => e.startsWith('NODE_OPTIONS='));
    return entry ? entry.slice('NODE_OPTIONS='.length).split(/\s+/).filter(Boolean) : [];
  } catch {
    return [];
  }
}

/**
 * The port a Node process's inspector uses, from its command line and NODE_OPTIONS (argv wins).
 * 0 means the kernel picks one. A process that changed its port at run time
 * (`process.debugPort = …`) is not seen here; activation then finds its listener anyway.
 */
export function inspectorPort(cmdline: readonly string[], root: string, pid: number): number {
  return (
    portFromFlags(nodeOptionsOf(cmdline)) ??
    portFromFlags(nodeOptionsEnv(root, pid)) ??
    DEFAULT_INSPECTOR_PORT
  );
}

/**
 * The host a Node process's inspector binds when activated, from its flags (`--inspect=0.0.0.0:9229`,
 * `--inspect-port=host:port`); undefined means Node's default, 127.0.0.1.
 */
export function inspectorHost(cmdline: readonly string[], root: string, pid: number): string | undefined {
  let host: string | undefined;
  for (const flag of [...nodeOptionsEnv(root, pid), ...nodeOptionsOf(cmdline)]) {
    const value = INSPECT_FLAG.exec(flag)?.[1];
    const m = value === undefined ? undefined : /^\[?([^\]]*?)\]?:\d+$/.exec(value);
    if (m?.[1] !== undefined) host = m[1];
  }
  return host;
}

/** Whether SIGUSR1 was turned off by `--disable-sigusr1` (Node ≥ 22.14 / 23.7; Node 20 lacks it). */
export function sigusr1Disabled(cmdline: readonly string[], root: string, pid: number): boolean {
  return [...nodeOptionsOf(cmdline), ...nodeOptionsEnv(root, pid)].includes('--disable-sigusr1');
}

/**
 * Such a target refuses every activation from outside, so the way in is one it opens itself: an
 * inspector listening from the start (found like any open one, whatever port the kernel gave it)
 * or memwarden running inside it.
 */
export const SIGUSR1_DISABLED =
  'was started with --disable-sigusr1, so its inspector cannot be opened from outside; ' +
  "use memwarden's guard() inside the program, or start it with --inspect=127.0.0.1:0";
